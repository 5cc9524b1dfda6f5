// toInteger on a bad string throws NumberFormatException
try {
  'abc'.toInteger()
} catch (NumberFormatException e) {
  println e.message
}
try {
  ''.toInteger()
} catch (NumberFormatException e) {
  println e.message
}
try {
  Integer.parseInt('12x')
} catch (NumberFormatException e) {
  println e.message
}
'1.5'.toInteger()
