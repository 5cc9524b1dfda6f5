// closures passed as the last argument outside parentheses
def withRetry(int times, Closure body) {
  def attempts = 0
  while (true) {
    attempts++
    try { return body(attempts) } catch (e) { if (attempts >= times) throw e }
  }
}
println withRetry(3) { n -> if (n < 3) throw new RuntimeException("fail $n"); "ok after $n" }
try {
  withRetry(2) { throw new RuntimeException('always') }
} catch (e) {
  println e.message
}
