// reading a property of null throws NullPointerException
def cfg = null
try {
  println cfg.name
} catch (NullPointerException e) {
  println e.message
}
def l = null
try {
  l[0]
} catch (NullPointerException e) {
  println e.message
}
println 'after'
