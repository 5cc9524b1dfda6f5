// TreeMap keeps keys sorted
def t = new TreeMap([b: 2, c: 3, a: 1])
println t
println t.firstKey()
t.put('aa', 0)
println t.keySet()
