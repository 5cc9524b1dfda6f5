// take and drop on strings
def sha = 'a1b2c3d4e5f6'
println sha.take(7)
println sha.drop(10)
println 'ab'.take(5)
println 'ab'.drop(5)
println ''.take(2)
println sha.takeWhile { it != 'c' }
