// building lists with loops, collect and ranges
def squares = []
for (i in 1..5) squares << i * i
println squares
println squares.collect { it % 2 == 0 ? 'even' : 'odd' }
println squares.indexed()
println((0..<squares.size()).collect { squares[it] - it })
