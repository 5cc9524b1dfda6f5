// number methods: abs, round, max via collections, toBigInteger
println(-5.abs())
println((-5).abs())
println 3.7d.round()
println 3.2d.round()
println 10.power(3)
println 7.toBigInteger() * 1000000000000
println 255.toString()
println Integer.MAX_VALUE
println Integer.MIN_VALUE
