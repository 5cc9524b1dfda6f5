// BigDecimal multiplication scale
println(1.5 * 2)
println(0.1 * 0.1)
println(1.25 * 4)
println(2.50 * 2)
println(1.0 * 3)
println(100 * 1.1)
