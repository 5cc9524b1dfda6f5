// iterating characters with each, collect and toList
def out = []
'abc'.each { out << it.toUpperCase() }
println out
println 'abc'.collect { it * 2 }
println 'hello'.toList().unique()
println 'hello'.toSet().size()
println 'a1b2'.findAll { it.isNumber() }
