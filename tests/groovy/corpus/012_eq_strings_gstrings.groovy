// String and GString equality
def n = 'world'
def g = "hello ${n}"
println(g == 'hello world')
println('hello world' == g)
println(g.equals('hello world'))
println(g.toString().equals('hello world'))
println('abc' == 'ABC')
println('abc'.equalsIgnoreCase('ABC'))
