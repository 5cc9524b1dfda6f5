// mixing double with int and BigDecimal gives double
println(1.5d + 1)
println(2 * 0.5d)
println((2 * 0.5d).getClass().name)
println(1.5 + 0.5d)
println((1.5 + 0.5d).getClass().name)
println(10d / 4)
