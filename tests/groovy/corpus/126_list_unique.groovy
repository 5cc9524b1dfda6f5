// unique mutates; with closure compares by key
def l = [1, 2, 1, 3, 2]
println l.unique()
println l
def w = ['a', 'B', 'A', 'b', 'c']
println w.unique { it.toLowerCase() }
println([1, 1, 2].unique(false))
