// sum with a closure and with an initial value
println([1, 2, 3].sum { it * 2 })
println([1, 2, 3].sum(10))
println(['a', 'bb'].sum { it.size() })
println([0.1, 0.2].sum())
