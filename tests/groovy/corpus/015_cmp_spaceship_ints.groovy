// <=> on integers, longs and decimals returns -1, 0 or 1
println(1 <=> 2)
println(2 <=> 2)
println(3 <=> 2)
println(10L <=> 2)
println(1.5 <=> 2)
println(2 <=> 1.5)
println(100 <=> 7)
