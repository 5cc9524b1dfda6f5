// a failing assert raises an AssertionError with the power assert text
def x = 3
try {
  assert x == 4
} catch (AssertionError e) {
  println e.message.readLines()[0]
}
try {
  assert x > 5 : "x too small: $x"
} catch (AssertionError e) {
  println e.message.startsWith('x too small: 3')
}
