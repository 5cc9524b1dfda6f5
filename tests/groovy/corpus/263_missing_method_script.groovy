// calling an undefined method throws MissingMethodException
try {
  noSuchStep('x')
} catch (MissingMethodException e) {
  println e.getClass().name
  println e.method
}
println 'after'
