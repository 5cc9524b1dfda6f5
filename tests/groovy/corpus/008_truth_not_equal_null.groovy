// comparisons against null
def a = null
println(a == null)
println(a != null)
println(null == null)
println('x' == null)
println(null == 'x')
println(a.is(null))
