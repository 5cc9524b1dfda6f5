// == between Integer and BigDecimal uses compareTo
println(1 == 1.0)
println(1.0 == 1.00)
println(1.0.equals(1.00))
println(2 == 2.000)
println(0.5 == 1/2)
println(3 == 3.1)
