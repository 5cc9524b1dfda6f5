// Integer multiplication overflow wraps, Long does not until 2^63
println(100000 * 100000)
println(100000L * 100000)
println(65536 * 65536)
println(65536L * 65536)
