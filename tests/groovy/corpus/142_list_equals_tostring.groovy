// list toString and inspect
def l = ['a', 1, null, [b: 'c']]
println l.toString()
println l.inspect()
println(['x'].inspect())
println([1.5, 2L].inspect())
