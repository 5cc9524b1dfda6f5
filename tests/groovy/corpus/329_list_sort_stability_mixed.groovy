// sort of maps by a key is stable for equal keys
def l = [[k: 1, v: 'a'], [k: 0, v: 'b'], [k: 1, v: 'c'], [k: 0, v: 'd']]
println l.sort { it.k }*.v
println l.sort { -it.k }*.v
