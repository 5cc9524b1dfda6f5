// size, length and isEmpty
println 'hello'.size()
println 'hello'.length()
println ''.size()
println "${'x' * 3}".length()
println 'héllo'.size()
