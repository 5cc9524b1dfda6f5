// map equality, size and subMap
def m = [a: 1, b: 2, c: 3]
println m.subMap(['a', 'c'])
println m.size()
println(m == [c: 3, b: 2, a: 1])
println m.max { it.value }.key
println m.min { it.value }
