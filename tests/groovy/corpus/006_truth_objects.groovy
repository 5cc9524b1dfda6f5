// Groovy truth of objects, characters and matcher results
class Thing {}
println(new Thing() ? 't' : 'f')
println(('a' =~ /b/) ? 't' : 'f')
println(('abc' =~ /b/) ? 't' : 'f')
println((char) 'a' ? 't' : 'f')
println(Boolean.valueOf('false') ? 't' : 'f')
