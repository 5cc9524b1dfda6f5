// Groovy truth: null and Boolean values in if, ternary, ! and !!
def x = null
if (x) { println 'null is true' } else { println 'null is false' }
println(!x)
println(!!x)
println(x ? 'yes' : 'no')
println(true && !false)
println(Boolean.TRUE ? 't' : 'f')
