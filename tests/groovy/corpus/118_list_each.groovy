// each and eachWithIndex
['x', 'y', 'z'].each { println it }
['x', 'y'].eachWithIndex { v, i -> println "$i:$v" }
def r = [1, 2].each { }
println r
