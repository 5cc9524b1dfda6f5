// closures with the implicit it parameter
def twice = { it * 2 }
println twice(4)
println twice('ab')
def noArg = { -> 'none' }
println noArg()
def itNull = { it }
println itNull()
