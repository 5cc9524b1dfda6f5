// Groovy truth of strings: empty is false, 'false' and ' ' are true
println('' ? 't' : 'f')
println(' ' ? 't' : 'f')
println('false' ? 't' : 'f')
println('0' ? 't' : 'f')
def name = ''
println("${name}" ? 't' : 'f')
println("x${name}" ? 't' : 'f')
