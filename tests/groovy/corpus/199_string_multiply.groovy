// string multiplication builds separators
println '-' * 10
println '=' * 0
println 'ab' * 3
def n = 4
println '#' * n + ' title'
