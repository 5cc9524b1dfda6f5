// substring with one and two indexes
def s = 'pipeline'
println s.substring(4)
println s.substring(0, 4)
println s.substring(2, 5)
println s.substring(8)
try {
  s.substring(10)
} catch (StringIndexOutOfBoundsException e) {
  println e.getClass().name
}
