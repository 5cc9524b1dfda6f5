// sort on maps returns a new sorted map
def m = [b: 2, c: 1, a: 3]
println m.sort()
println m.sort { it.value }
println m.sort { a, b -> b.value <=> a.value }
println m
