// converting with as List, as Set and toList
def r = (1..3) as List
println r
println(r instanceof List)
def a = ['b', 'a', 'b'] as Set
println a.size()
println(['z', 'y'].toList())
println('abc' as List)
String[] arr = ['p', 'q']
println arr.toList()
