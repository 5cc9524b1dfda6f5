// an uncaught exception still runs finally blocks first
try {
  println 'working'
  throw new IllegalStateException('bad state')
} finally {
  println 'cleanup'
}
