// spread operator on lists
def l = ['a', 'bb', 'ccc']
println l*.size()
println l*.toUpperCase()
def items = [[name: 'x', v: 1], [name: 'y', v: 2]]
println items*.name
println items*.v.sum()
def f = { a, b, c -> a + b + c }
println f(*[1, 2, 3])
println([*l, 'd'])
