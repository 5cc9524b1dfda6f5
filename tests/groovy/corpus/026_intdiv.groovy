// intdiv truncates toward zero
println(7.intdiv(2))
println(-7.intdiv(2))
println((-7).intdiv(2))
println(10.intdiv(3))
println(10L.intdiv(4))
println(7.intdiv(2).getClass().name)
