// bitwise operators and shifts on integers
println(6 & 3)
println(6 | 3)
println(6 ^ 3)
println(~5)
println(1 << 4)
println(-16 >> 2)
println(-16 >>> 28)
println(1L << 40)
