// < <= > >= across int, long, BigDecimal and double
println(1 < 2L)
println(2.5 > 2)
println(3 >= 3.0)
println(1.0d <= 1)
println(10 > 9.99)
println(-1 < 0.0)
println(Integer.MAX_VALUE < Long.MAX_VALUE)
