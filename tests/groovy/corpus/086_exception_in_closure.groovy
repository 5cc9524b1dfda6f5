// exceptions thrown inside closures propagate to the caller
def result = []
try {
  [1, 2, 3, 4].each {
    if (it == 3) throw new IllegalStateException("stop at $it")
    result << it
  }
} catch (IllegalStateException e) {
  println e.message
}
println result
