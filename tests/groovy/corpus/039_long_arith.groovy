// long arithmetic
long a = 3000000000L
println(a + 1)
println(a * 2)
println(a - 4000000000L)
println(a / 2)
println(a.intdiv(7))
println(a % 7)
