// ** with negative and fractional exponents and decimals
println(2 ** -1)
println(4 ** 0.5)
println(1.5 ** 2)
println(0.1 ** 3)
println(2L ** 3)
