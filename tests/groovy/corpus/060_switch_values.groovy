// switch on integer and string values with break and default
def describe = { v ->
  def r
  switch (v) {
    case 1: r = 'one'; break
    case 'two': r = 'two'; break
    case 3L: r = 'three'; break
    default: r = 'other'
  }
  r
}
println describe(1)
println describe('two')
println describe(3)
println describe(4)
println describe(null)
