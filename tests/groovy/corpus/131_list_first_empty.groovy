// first() on an empty list throws NoSuchElementException
try {
  [].first()
} catch (NoSuchElementException e) {
  println e.message
}
try {
  [].last()
} catch (NoSuchElementException e) {
  println e.message
}
println([][0])
