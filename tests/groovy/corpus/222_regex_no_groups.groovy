// matches without groups are plain strings
def m = 'a1b22c333' =~ /\d+/
println m[0]
println m[1]
println m[2]
println m.size()
println m.collect { it }
println(('abc' =~ /\d/).size())
