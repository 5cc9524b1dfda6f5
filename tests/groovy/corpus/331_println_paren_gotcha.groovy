// println (x).y applies .y to println's result, a common Groovy gotcha
def r = println('printed')
println r
try {
  println (1 + 2) * 3
} catch (NullPointerException e) {
  println e.message
}
println((1 + 2) * 3)
