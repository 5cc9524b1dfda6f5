// withDefault maps create values on first access
def counts = [:].withDefault { 0 }
'a b a c a'.tokenize().each { counts[it] += 1 }
println counts
def lists = [:].withDefault { [] }
lists.x << 1
lists.x << 2
lists.y << 3
println lists
