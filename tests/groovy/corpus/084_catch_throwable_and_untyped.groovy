// untyped catch catches Exception; catch Throwable catches errors too
try {
  throw new UnsupportedOperationException('nope')
} catch (e) {
  println e.getClass().name
}
try {
  assert 1 == 2 : 'math broke'
} catch (Throwable t) {
  println t.getClass().name
}
