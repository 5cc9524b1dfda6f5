// inject folds with and without an initial value
println([1, 2, 3, 4].inject(0) { acc, v -> acc + v })
println([1, 2, 3, 4].inject { acc, v -> acc * v })
println(['a', 'b', 'c'].inject('') { s, c -> s + c.toUpperCase() })
println([3, 1, 2].inject([]) { acc, v -> acc << v * 10 })
println([[a: 1], [b: 2]].inject([:]) { m, e -> m + e })
