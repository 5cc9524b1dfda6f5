// push, pop and putAt on lists (2.4 pop removes the last element)
def l = [1, 2]
l.push(3)
println l
println l.pop()
println l
l.putAt(0, 9)
println l
