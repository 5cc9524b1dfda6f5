// top-level def variables are visible inside closures but not methods
def greeting = 'hi'
def c = { name -> "$greeting $name" }
println c('x')
greeting = 'hello'
println c('y')
def m() {
  try { return greeting } catch (MissingPropertyException e) { return 'not visible' }
}
println m()
