// sorting with comparators: reverse order and multi-key
def l = [[n: 'b', p: 2], [n: 'a', p: 2], [n: 'c', p: 1]]
println l.sort { a, b -> a.p <=> b.p ?: a.n <=> b.n }*.n
println([3, 1, 2].sort(false) { a, b -> b <=> a })
println(['bb', 'a', 'ccc'].sort(false, { it.size() }).reverse())
def byLen = { a, b -> a.size() <=> b.size() } as Comparator
println(['bb', 'a', 'ccc'].sort(false, byLen))
