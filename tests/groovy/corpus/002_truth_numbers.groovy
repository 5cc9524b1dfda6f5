// Groovy truth of numbers: zero is false, anything else is true
println(0 ? 't' : 'f')
println(1 ? 't' : 'f')
println(-1 ? 't' : 'f')
println(0L ? 't' : 'f')
println(0.0 ? 't' : 'f')
println(0.1 ? 't' : 'f')
println(0.0d ? 't' : 'f')
println(!!42)
