// comparing and sorting BigDecimals
println(0.1 + 0.2 == 0.3)
println([2.5, 1.25, 10.0, 3].sort())
println([2.5, 1.25, 10.0, 3].max())
println(1.10 == 1.1)
println(1.10 <=> 1.1)
