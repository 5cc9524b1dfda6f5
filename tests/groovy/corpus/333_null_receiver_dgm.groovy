// some collection methods work on null receivers
def n = null
def count = 0
n.each { count++ }
println count
println n?.collect { it }
println n.toString()
println(n as List)
println([null].size())
