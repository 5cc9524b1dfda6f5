// list indexing with positive, negative and out-of-range indexes
def l = ['a', 'b', 'c', 'd']
println l[0]
println l[-1]
println l[-2]
println l[10]
println l.get(1)
println l.getAt(2)
