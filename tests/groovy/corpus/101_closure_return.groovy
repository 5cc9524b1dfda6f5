// return inside a closure returns from the closure only
def check = { n ->
  if (n > 2) return 'big'
  'small'
}
println check(5)
println check(1)
def r = [1, 2, 3, 4].collect { if (it % 2) return 'odd'; 'even' }
println r
