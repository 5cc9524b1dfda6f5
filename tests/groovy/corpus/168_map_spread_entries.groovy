// spread over map entries and keys
def m = [a: 1, b: 2]
println m*.key
println m*.value
println m.entrySet()*.key
println m.keySet()*.toUpperCase()
