// ranges built from variables and empty exclusive ranges
def lo = 2
def hi = 6
def r = lo..hi
println r
println((lo..<lo).size())
println((lo..<lo).toList())
println((hi..lo).collect { it })
println r[1]
println r[-1]
