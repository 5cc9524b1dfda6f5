// closure composition with << and >>
def plus1 = { it + 1 }
def times2 = { it * 2 }
println((plus1 >> times2)(3))
println((plus1 << times2)(3))
def pipeline = [plus1, times2, plus1].inject { a, b -> a >> b }
println pipeline(1)
