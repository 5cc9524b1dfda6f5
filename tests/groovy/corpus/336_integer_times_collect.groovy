// times, collect with ranges and nested indexes
println((0..<3).collect { i -> (0..<3).collect { j -> i * 3 + j } })
def grid = []
3.times { r -> grid << [r] * 2 }
println grid
println 5.times { }
