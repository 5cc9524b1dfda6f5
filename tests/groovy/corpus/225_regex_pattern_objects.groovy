// ~/pattern/ creates a Pattern
def p = ~/^[a-z]+-\d+$/
println p.getClass().name
println p.matcher('abc-12').matches()
println p.matcher('abc-x').matches()
println(('xyz-9' =~ p).matches())
println(p.toString())
