// multi-catch with |
def run = { Closure c ->
  try { c() } catch (IllegalArgumentException | IllegalStateException e) { println "multi: ${e.message}" }
}
run { throw new IllegalArgumentException('one') }
run { throw new IllegalStateException('two') }
try {
  run { throw new RuntimeException('three') }
} catch (e) {
  println "outer: ${e.message}"
}
