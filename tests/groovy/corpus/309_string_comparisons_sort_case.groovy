// case-sensitive versus case-insensitive sorting
def l = ['b', 'C', 'a', 'B']
println l.sort(false)
println l.sort(false) { it.toLowerCase() }
println l.sort(false, String.CASE_INSENSITIVE_ORDER)
