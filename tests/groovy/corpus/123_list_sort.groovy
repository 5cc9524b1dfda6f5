// sort without a closure mutates and returns the list
def l = [3, 1, 2]
def s = l.sort()
println s
println l
println(s.is(l))
println(['banana', 'Apple', 'cherry'].sort())
println([2.5, 1, 10L, 3.0].sort())
