// comparing dotted versions numerically
def cmp = { String a, String b ->
  def pa = a.tokenize('.')*.toInteger()
  def pb = b.tokenize('.')*.toInteger()
  for (i in 0..<Math.max(pa.size(), pb.size())) {
    def x = i < pa.size() ? pa[i] : 0
    def y = i < pb.size() ? pb[i] : 0
    if (x != y) return x <=> y
  }
  0
}
println cmp('1.10.0', '1.9.3')
println cmp('2.0', '2.0.0')
println cmp('0.9', '1.0')
println(['1.10', '1.2', '1.9.1', '1.1'].sort(false, cmp))
