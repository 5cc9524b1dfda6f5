// BigDecimal literals add exactly
println(0.1 + 0.2)
println(1.10 + 2.205)
println(0.1 + 0.2 + 0.3)
println(1.5 + 1)
println((0.1 + 0.2).getClass().name)
println(3.0 - 1)
println(3.00 - 1.0)
