// Double.toString formatting
println(1.0d)
println(100.0d)
println(1234567.0d)
println(12345678.0d)
println(0.001d)
println(0.0001d)
println(-2.5d)
