// methods calling other methods and script-level helpers
def version = '1.4.2'
def parts(String v) { v.tokenize('.').collect { it.toInteger() } }
def bump(String v) {
  def p = parts(v)
  p[2]++
  p.join('.')
}
println parts(version)
println bump(version)
println bump(bump(version))
