// numeric and boolean keys in maps
def m = [1: 'one', 2: 'two']
println m[1]
println m.get(2)
println m['1']
m[3] = 'three'
println m.keySet()
println m.keySet().sum()
