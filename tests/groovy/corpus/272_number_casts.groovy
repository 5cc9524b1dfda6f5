// casting numbers with (int), as int, toInteger and intValue
println((int) 2.9)
println(2.9 as int)
println(2.9.toInteger())
println((-2.9).toInteger())
println((10 / 4).toInteger())
println(7.9d.intValue())
println((long) 1e10)
println(3 as double)
