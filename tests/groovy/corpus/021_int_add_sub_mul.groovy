// Integer arithmetic stays Integer
def a = 7
def b = 3
println(a + b)
println(a - b)
println(a * b)
println((a + b).getClass().name)
println(-a)
println(+a)
