// multiple assignment from a list
def (a, b, c) = [1, 'two', 3.0]
println a
println b
println c
def (x, y) = [10]
println x
println y
(a, b) = [b, a]
println "$a $b"
