// string methods via collect, spread and sort
def names = ['bob', 'alice', 'Carol']
println names*.capitalize()
println names.collect { it[0] }
println names.sort { it.toLowerCase() }
println names.max { it.size() }
