// << on lists appends in place and returns the list
def l = []
l << 1
l << 'two' << [3]
println l
println l.size()
def r = (l << 4)
println(r.is(l))
l += 5
println l
