// map literals keep insertion order and print as [k:v]
def m = [zeta: 1, alpha: 2, mid: 3]
println m
println m.keySet()
println m.values()
println([:])
println([a: null, b: [1, 2], c: [d: 'e']])
println m.getClass().name
