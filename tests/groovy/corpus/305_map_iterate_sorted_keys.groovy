// iterating map keys in sorted order
def m = [c: 3, a: 1, b: 2]
m.keySet().sort().each { k -> println "$k=${m[k]}" }
println m.sort()*.key
println m.keySet().toSorted()
