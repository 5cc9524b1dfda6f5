// sort(false) and toSorted-like copies leave the original alone
def l = [3, 1, 2]
println l.sort(false)
println l
println l.sort(false) { -it }
println l
println([1, 2, 3].reverse())
