// GString captures values at creation; closures inside are evaluated on toString
def x = 1
def g1 = "x=${x}"
def g2 = "x=${-> x}"
x = 2
println g1
println g2
