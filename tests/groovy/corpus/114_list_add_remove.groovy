// adding and removing list elements
def l = [1, 2, 3]
l.add(4)
l.add(0, 0)
println l
l.remove(0)
println l
l.remove((Object) 3)
println l
l.removeAll { it > 3 }
println l
l.addAll([7, 8])
println l
l.clear()
println l
