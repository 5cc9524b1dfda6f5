// switch cases on classes use instanceof
def typeOf = { v ->
  switch (v) {
    case String: return 'string'
    case Integer: return 'integer'
    case BigDecimal: return 'decimal'
    case List: return 'list'
    case Map: return 'map'
    default: return 'unknown'
  }
}
['s', 1, 1.5, [1], [a: 1], 2L].each { println typeOf(it) }
