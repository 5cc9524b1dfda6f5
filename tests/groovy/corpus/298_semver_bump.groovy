// bumping semantic versions with multiple assignment
def bump(String v, String part) {
  def (maj, min, pat) = v.tokenize('.')*.toInteger()
  switch (part) {
    case 'major': return "${maj + 1}.0.0"
    case 'minor': return "${maj}.${min + 1}.0"
    default: return "${maj}.${min}.${pat + 1}"
  }
}
println bump('1.2.3', 'major')
println bump('1.2.3', 'minor')
println bump('1.2.3', 'patch')
println bump('0.9.9', 'x').getClass() == String
