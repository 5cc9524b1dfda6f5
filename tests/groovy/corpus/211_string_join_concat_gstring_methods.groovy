// methods called on GStrings behave like String methods
def n = 'World'
def g = "Hello ${n}"
println g.toUpperCase()
println g.size()
println g.contains('World')
println g.split(' ').toList()
println g.replace('World', 'There')
println g.startsWith('Hell')
println "${n}".getClass() == String
