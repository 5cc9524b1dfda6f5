// numbers of different types in contains, indexOf and unique
def l = [1, 2L, 3.0]
println l.contains(2)
println l.contains(3)
println l.indexOf(1)
println(l.find { it == 3 })
println(2 in l)
