// each, collect, findAll and sum over ranges
(1..3).each { print it }
println ''
println((1..5).collect { it * it })
println((1..10).findAll { it % 3 == 0 })
println((1..100).sum())
println((1..4).inject(1) { a, b -> a * b })
