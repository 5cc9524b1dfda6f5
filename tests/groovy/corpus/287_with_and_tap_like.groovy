// with runs a closure against an object and returns its result
def m = [a: 1, b: 2]
def r = m.with { a + b }
println r
def sb = new StringBuilder()
sb.with {
  append('hello')
  append(' ')
  append('world')
}
println sb
