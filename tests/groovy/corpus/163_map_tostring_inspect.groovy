// toString and inspect of maps
def m = [name: 'x', list: [1, 'b'], nested: [k: null]]
println m.toString()
println m.inspect()
println "$m"
println([1: 'a', 2.5: 'b'].toString())
