// switch cases on lists and ranges use isCase
def kind = { n ->
  switch (n) {
    case [1, 2, 3]: return 'small list'
    case 4..9: return 'range'
    case 10..<20: return 'teens'
    default: return 'big'
  }
}
[2, 5, 9, 10, 19, 20].each { println "$it: ${kind(it)}" }
