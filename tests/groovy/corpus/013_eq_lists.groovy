// == on lists compares elements, including mixed numbers
println([1, 2, 3] == [1, 2, 3])
println([1, 2] == [2, 1])
println([1, 2] == [1L, 2.0])
println([[1], [2]] == [[1], [2]])
println([] == [])
println([1, 'a'] != [1, 'b'])
