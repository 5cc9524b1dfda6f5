// GString interpolation with ${} and $name
def a = 'A'
def b = [c: 'C']
def m = [k: 'K', 'two words': 2]
println "${a} $b.c ${m['k']}"
println "sum ${1 + 2}"
println "m is ${m['two words']}"
println "dollar \$a and ${'$'}"
println "$a$a"
