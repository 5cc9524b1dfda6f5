// remove returns the removed value
def m = [a: 1, b: 2, c: 3]
println m.remove('b')
println m.remove('zz')
println m
println m.size()
println m.isEmpty()
m.clear()
println m
