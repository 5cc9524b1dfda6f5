// ternary and nested ternary
def n = 5
println(n > 3 ? 'gt' : 'le')
println(n % 2 == 0 ? 'even' : n > 4 ? 'odd>4' : 'odd')
println((n > 3 ? [1] : [2]) + [3])
def r = null
println(r != null ? r : 'was null')
