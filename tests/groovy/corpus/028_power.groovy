// ** on integers, longs and decimals
println(2 ** 10)
println(2 ** 31)
println((2 ** 31).getClass().name)
println(2 ** 62)
println(2 ** 64)
println(10 ** 0)
println(3 ** 3)
