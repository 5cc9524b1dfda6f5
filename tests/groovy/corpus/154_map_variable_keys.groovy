// variable keys need parentheses in map literals
def k = 'env'
def m1 = [k: 'literal']
def m2 = [(k): 'variable']
println m1
println m2
def n = 1
println([(n + 1): 'two'])
