// withIndex and findIndexOf
def l = ['a', 'b', 'c']
println l.withIndex()
l.withIndex().each { v, i -> print "$i=$v " }
println ''
println l.findIndexOf { it == 'b' }
println l.findIndexOf { it == 'z' }
println l.findLastIndexOf { it != 'z' }
println l.findIndexValues { it != 'b' }
