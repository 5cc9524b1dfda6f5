// reverse does not mutate; flatten flattens nested lists
def l = [1, [2, [3, 4]], 5]
println l.reverse()
println l
println l.flatten()
println([[1, 2], [3]].flatten())
println([1, 2, 3].reverse(true))
