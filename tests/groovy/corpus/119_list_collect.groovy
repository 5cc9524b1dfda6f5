// collect transforms each element
println([1, 2, 3].collect { it * it })
println(['a', 'b'].collect { it.toUpperCase() })
println([].collect { it })
println([1, 2, 3].collect())
println([[1, 2], [3, 4]].collect { a, b -> a + b })
println([1, 2].collect { "n$it" })
