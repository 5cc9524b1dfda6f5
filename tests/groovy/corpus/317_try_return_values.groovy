// try/catch used as an expression through a closure
def safeParse = { String s ->
  try {
    return Integer.parseInt(s)
  } catch (NumberFormatException ignored) {
    return -1
  } finally {
    println "parsed $s"
  }
}
println safeParse('12')
println safeParse('zz')
