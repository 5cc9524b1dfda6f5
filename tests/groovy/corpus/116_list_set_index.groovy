// assigning by index grows the list with nulls
def l = ['a']
l[0] = 'A'
l[3] = 'D'
println l
l[-1] = 'last'
println l
println l.size()
