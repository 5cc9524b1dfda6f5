// an undefined variable throws MissingPropertyException naming Script1
try {
  println undefinedVar
} catch (MissingPropertyException e) {
  println e.message
  println e.property
}
println 'continuing'
println alsoUndefined
