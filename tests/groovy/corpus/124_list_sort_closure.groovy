// sort with a one- and two-argument closure
def words = ['ccc', 'a', 'bb', 'dd']
println words.sort { it.size() }
println words.sort { a, b -> b <=> a }
def people = [[n: 'x', age: 30], [n: 'y', age: 20], [n: 'z', age: 30]]
println people.sort { it.age }.collect { it.n }
println people.sort { a, b -> b.age <=> a.age ?: a.n <=> b.n }.collect { it.n }
