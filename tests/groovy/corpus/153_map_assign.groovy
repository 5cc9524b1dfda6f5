// writing maps with dot, subscript and put
def m = [:]
m.a = 1
m['b'] = 2
m.put('c', 3)
m.a = 10
println m
println m.size()
def key = 'dyn'
m[key] = 'x'
m."$key-2" = 'y'
println m
