// integer division with / yields BigDecimal
println(1 / 3)
println(10 / 4)
println(4 / 2)
println((4 / 2).getClass().name)
println(2 / 3)
println(7 / 7)
println(1 / 8)
