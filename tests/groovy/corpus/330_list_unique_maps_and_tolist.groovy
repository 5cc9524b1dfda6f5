// unique on lists of lists and maps
println([[1, 2], [1, 2], [2, 1]].unique())
println([[a: 1], [a: 1], [a: 2]].unique())
println([1, 1.0, 2].unique())
