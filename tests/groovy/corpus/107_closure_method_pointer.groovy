// method pointers with .& and closures stored in maps
def upper(String s) { s.toUpperCase() }
def f = this.&upper
println f('abc')
println(['a', 'b'].collect(f))
def ops = [inc: { it + 1 }, dbl: { it * 2 }]
println ops.inc(1)
println ops['dbl'](4)
