// lists containing GStrings compare equal to lists of Strings
def v = 'x'
println(["$v"] == ['x'])
println(['x'].contains("$v"))
println(["$v"].contains('x'))
println(["$v"]*.toString().contains('x'))
