// step over ranges
println((1..10).step(3))
println((0..20).step(5).collect { it * 2 })
def out = []
(1..10).step(4) { out << it }
println out
