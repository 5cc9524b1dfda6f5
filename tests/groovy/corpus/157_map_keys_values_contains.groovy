// keySet, values, containsKey, containsValue and in
def m = [x: 1, y: null]
println m.keySet()
println m.values()
println m.containsKey('y')
println m.containsKey('z')
println m.containsValue(1)
println('x' in m)
println('y' in m)
println m.keySet().toList()
