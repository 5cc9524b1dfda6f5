// == across Integer and Long
int i = 5
long l = 5L
println(i == l)
println(5 == 5L)
println(i.equals(l))
println(Integer.valueOf(5) == Long.valueOf(5))
println(3 != 4L)
