// calling a method on null throws NullPointerException
def s = null
try {
  s.trim()
} catch (NullPointerException e) {
  println e.message
}
try {
  s.size()
} catch (NullPointerException e) {
  println e.message
}
def m = null
m.toUpperCase()
