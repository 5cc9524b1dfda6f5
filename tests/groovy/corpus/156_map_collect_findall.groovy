// collect returns a list; findAll returns a map
def m = [a: 1, b: 2, c: 3]
println m.collect { k, v -> "$k$v" }
println m.collect { it.value * 10 }
println m.findAll { k, v -> v > 1 }
println m.findAll { it.key != 'b' }
println m.find { k, v -> v == 2 }
println m.find { it.value > 5 }
