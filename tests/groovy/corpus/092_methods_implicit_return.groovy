// methods return the last expression, including from if/else
def sign(n) {
  if (n > 0) { 'positive' } else if (n < 0) { 'negative' } else { 'zero' }
}
def nothing() { }
def early(n) {
  if (n > 5) return 'big'
  'small'
}
println sign(3)
println sign(-3)
println sign(0)
println nothing()
println early(6)
println early(1)
