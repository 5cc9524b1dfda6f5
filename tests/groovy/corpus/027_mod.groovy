// % on integers keeps the sign of the dividend
println(7 % 3)
println(-7 % 3)
println(7 % -3)
println(10 % 5)
println(10L % 3)
println(13.mod(5))
println((-13).mod(5))
