// println [1, 2] is parsed as a subscript of a println property
try {
  println [1, 2]
} catch (MissingPropertyException e) {
  println e.message
}
println([1, 2])
