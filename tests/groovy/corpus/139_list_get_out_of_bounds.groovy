// get() out of bounds throws IndexOutOfBoundsException
def l = [1, 2, 3]
println l[5]
try {
  l.get(5)
} catch (IndexOutOfBoundsException e) {
  println e.getClass().name
  println e.message
}
l.get(-1)
