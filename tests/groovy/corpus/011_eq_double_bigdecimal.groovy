// == between double and BigDecimal / int
println(0.5d == 0.5)
println(1.0d == 1)
println(0.1d + 0.2d == 0.3d)
println(0.1 + 0.2 == 0.3)
println(2.0d == 2L)
