// more BigDecimal division results
println(100 / 3)
println(-1 / 3)
println(22 / 7)
println(1 / 7)
println(1000000 / 3)
println(5 / 0.5)
println(1.5 / 2)
