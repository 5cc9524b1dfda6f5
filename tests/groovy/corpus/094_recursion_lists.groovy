// recursion over nested lists
def depth(x) {
  if (!(x instanceof List)) return 0
  1 + (x.collect { depth(it) }.max() ?: 0)
}
def flat(x) { x instanceof List ? x.collectMany { flat(it) } : [x] }
println depth([1, [2, [3, [4]]]])
println depth([])
println flat([1, [2, [3, [4]]], 5])
