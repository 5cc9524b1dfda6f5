// list * n repeats; minus removes all occurrences
println([1, 2] * 2)
println(['a', 'b', 'a'] - 'a')
println([1, 2, 3, 4] - [2, 4])
println([null, 1, null] - null)
