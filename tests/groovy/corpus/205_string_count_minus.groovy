// count occurrences and minus removes the first occurrence
println 'banana'.count('a')
println 'banana'.count('an')
println 'banana' - 'an'
println 'hello world' - 'o'
println 'abc' - 'z'
println 'a-b-c' - ~/-/
