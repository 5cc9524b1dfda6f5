// size, isEmpty and truth
def l = []
println l.size()
println l.isEmpty()
l << null
println l.size()
println l.isEmpty()
println([1, 2, 3].size())
