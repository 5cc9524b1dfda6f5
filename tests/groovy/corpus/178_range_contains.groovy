// contains and in for ranges, including decimals
def r = 1..10
println r.contains(5)
println r.contains(11)
println(3 in r)
println(0 in r)
println((1..<10).contains(10))
println r.containsWithinBounds(5)
