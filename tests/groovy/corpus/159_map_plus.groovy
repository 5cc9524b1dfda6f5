// + merges maps, right side wins; original unchanged
def base = [a: 1, b: 2]
def over = [b: 20, c: 30]
println(base + over)
println(over + base)
println base
base += [d: 4]
println base
println(base - [a: 1])
