// curry, rcurry and ncurry fix arguments
def join3 = { a, b, c -> "$a-$b-$c" }
def left = join3.curry('x')
println left('y', 'z')
println join3.curry('p', 'q')('r')
println join3.rcurry('end')('a', 'b')
println join3.ncurry(1, 'mid')('a', 'c')
