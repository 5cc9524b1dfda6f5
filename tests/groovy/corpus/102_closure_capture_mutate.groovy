// closures capture and mutate outer variables
def count = 0
def inc = { count++ }
3.times { inc() }
println count
def names = []
['a', 'b'].each { names << it.toUpperCase() }
println names
def total = 0
[1, 2, 3].each { total += it }
println total
