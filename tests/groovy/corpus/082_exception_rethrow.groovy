// rethrowing and wrapping exceptions with causes
try {
  try {
    throw new IllegalStateException('inner')
  } catch (IllegalStateException e) {
    throw new RuntimeException('outer', e)
  }
} catch (RuntimeException e) {
  println e.message
  println e.cause.message
  println e.cause.getClass().name
}
