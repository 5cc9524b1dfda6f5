// int arithmetic wraps; long literals and Long operands give Long
int max = Integer.MAX_VALUE
println(max)
println(max + 1)
println(max + 1L)
println((max + 1L).getClass().name)
println(2147483648)
println(2147483648.getClass().name)
println(Long.MAX_VALUE)
