// + and - on lists create new lists
def a = [1, 2, 3, 2]
println(a + [4, 5])
println(a + 6)
println(a - 2)
println(a - [1, 3])
println(a)
println([1, [2]] + [[3]])
