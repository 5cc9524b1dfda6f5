// <=> on strings is lexicographic compareTo
println('a' <=> 'b')
println('b' <=> 'a')
println('abc' <=> 'abc')
println(('apple' <=> 'banana') < 0)
println(('B' <=> 'a') < 0)
println('10' < '9')
