// building a new map while iterating another
def src = [one: 1, two: 2, three: 3]
def dst = [:]
src.each { k, v -> if (v % 2) dst[k] = v * v }
println dst
def inverted = [:]
src.each { k, v -> inverted[v] = k }
println inverted
println inverted[2]
