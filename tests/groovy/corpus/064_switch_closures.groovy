// switch cases on closures call them with the value
def classify = { n ->
  switch (n) {
    case { it < 0 }: return 'negative'
    case { it % 2 == 0 }: return 'even'
    default: return 'odd'
  }
}
println classify(-5)
println classify(4)
println classify(7)
