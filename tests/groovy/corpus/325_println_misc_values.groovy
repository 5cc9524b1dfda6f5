// println of booleans, characters, nulls and numbers
println true
println null
println 'c' as char
println 1.0f
println(-2.0d)
println 10 / 2
println([null])
println(['', ''])
