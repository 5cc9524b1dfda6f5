// Java String.join and Collections helpers
println String.join('-', ['a', 'b', 'c'])
println String.join(', ', 'x', 'y')
println Collections.max([3, 9, 4])
println Collections.min(['b', 'a'])
def l = [1, 2, 3]
Collections.reverse(l)
println l
println Collections.emptyList()
