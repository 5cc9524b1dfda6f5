// groupBy keeps first-seen key order
def words = ['apple', 'bob', 'avocado', 'banana', 'cherry']
println words.groupBy { it[0] }
println([1, 2, 3, 4, 5, 6].groupBy { it % 3 })
println words.groupBy { it.size() }.keySet()
