// in operator on lists, ranges, maps, strings and regex
println(2 in [1, 2, 3])
println('b' in ['a', 'b'])
println(5 in 1..4)
println('k' in [k: 1])
println('ell' in 'hello')
println('x' in [])
println(!('z' in ['a']))
