// Elvis ?: uses Groovy truth
println(null ?: 'default')
println('' ?: 'empty')
println('value' ?: 'default')
println(0 ?: 5)
println([] ?: ['x'])
def p = [branch: null]
println(p.branch ?: 'main')
def x = null
x = x ?: 3
println x
