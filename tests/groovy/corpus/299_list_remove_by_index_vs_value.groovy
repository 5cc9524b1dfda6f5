// remove(int) removes by index; remove(Object) by value
def l = [10, 20, 30, 1]
println l.remove(1)
println l
println l.remove((Object) 1)
println l
def s = ['a', 'b']
println s.remove('a')
println s
