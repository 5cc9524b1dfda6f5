// BigDecimal division
println(10.0 / 4)
println(1.0 / 3)
println(2.0 / 3)
println(7.5 / 2.5)
println(1 / 3.0)
println(0.3 / 0.1)
