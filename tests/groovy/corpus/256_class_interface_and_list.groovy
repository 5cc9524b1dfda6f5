// interfaces and lists of objects
interface Check { boolean ok(int v) }
class Positive implements Check { boolean ok(int v) { v > 0 } }
class Small implements Check { boolean ok(int v) { v < 10 } }
def checks = [new Positive(), new Small()]
[5, -1, 20].each { v -> println "$v: ${checks.every { it.ok(v) }}" }
