// nested closures see the enclosing closure's parameters
def outer = [1, 2]
def res = outer.collect { o -> ['a', 'b'].collect { i -> "$o$i" } }
println res
println res.flatten()
def x = 'script'
def c = { def x2 = 'closure'; { -> "$x/$x2" } }
println c()()
