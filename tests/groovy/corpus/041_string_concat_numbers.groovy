// string concatenation with numbers is left to right
println('a' + 1 + 2)
println(1 + 2 + 'a')
println('sum: ' + (1 + 2))
println('x' + 1.5)
println('v' + 10L)
println('' + 1 / 4)
