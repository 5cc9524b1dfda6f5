// null values are stored and distinguished by containsKey
def m = [a: null]
println m.a
println m.containsKey('a')
println m.get('a', 'd')
println(m.a ?: 'elvis')
println m.size()
