// try/catch of a thrown Exception and its message
try {
  throw new Exception('x')
} catch (Exception e) {
  println e.message
  println e.getMessage()
  println "$e"
  println e.toString()
}
