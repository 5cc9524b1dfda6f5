// division by zero throws ArithmeticException
try {
  println 1 / 0
} catch (ArithmeticException e) {
  println e.message
}
try {
  println 1.intdiv(0)
} catch (ArithmeticException e) {
  println e.message
}
try {
  println 5 % 0
} catch (ArithmeticException e) {
  println e.message
}
println 1.0d / 0
println 1 / 0
