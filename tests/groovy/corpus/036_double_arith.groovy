// double arithmetic and formatting of doubles
def a = 1.5d
def b = 2.25d
println(a + b)
println(a * b)
println(b / a)
println(0.1d + 0.2d)
println(1.0d / 4)
println((a + b).getClass().name)
