// switch assigning a variable and mixing types
def describe = { x ->
  def s = 'unknown'
  switch (x) {
    case null: s = 'null'; break
    case Number: s = "number ${x}"; break
    case ~/\d+/: s = "digits ${x}"; break
    case String: s = "string ${x}"; break
  }
  s
}
println describe(null)
println describe(4.5)
println describe('123')
println describe('abc')
println describe([])
