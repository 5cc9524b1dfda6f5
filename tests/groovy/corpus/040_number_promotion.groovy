// result types of mixed arithmetic
println((1 + 1).getClass().name)
println((1 + 1L).getClass().name)
println((1 + 1.0).getClass().name)
println((1 + 1.0d).getClass().name)
println((1L * 1.0).getClass().name)
println((1 / 1).getClass().name)
