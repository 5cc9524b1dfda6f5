// assigning incompatible values to typed variables
try {
  int n = 'abc'
} catch (e) {
  println e.getClass().name
}
try {
  Integer.parseInt(null)
} catch (NumberFormatException e) {
  println e.message
}
println 'done'
