// BigDecimal toString keeps trailing zeros
println(1.50)
println(2.0)
println(0.000)
println(100.00)
println(1.50.toString())
println("${1.50}")
println(-0.5)
