// closures with explicit and typed parameters and defaults
def add = { a, b -> a + b }
def typed = { String s, int n -> s * n }
def dflt = { a, b = 10 -> a + b }
println add(1, 2)
println add('x', 'y')
println typed('ab', 2)
println dflt(1)
println dflt(1, 1)
println add.call(3, 4)
