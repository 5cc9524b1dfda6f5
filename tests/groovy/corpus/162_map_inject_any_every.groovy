// inject, any and every over maps
def m = [a: 1, b: 2, c: 3]
println m.inject(0) { acc, k, v -> acc + v }
println m.inject('') { acc, e -> acc + e.key }
println m.any { k, v -> v > 2 }
println m.every { k, v -> v > 0 }
println m.every { it.value > 1 }
