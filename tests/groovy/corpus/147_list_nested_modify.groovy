// modifying nested lists and maps through references
def matrix = [[1, 2], [3, 4]]
matrix[1][0] = 30
println matrix
def row = matrix[0]
row << 2.5
println matrix
def copy = matrix.collect { it.clone() }
copy[0][0] = 'x'
println matrix[0][0]
