// try/catch inside loops continues after failures
def results = []
['1', 'x', '3', ''].each { v ->
  try {
    results << v.toInteger()
  } catch (NumberFormatException e) {
    results << "bad:'${v}'"
  }
}
println results
