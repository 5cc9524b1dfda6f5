// default is taken only when nothing matches even if it is not last
def pick = { v ->
  def out = []
  switch (v) {
    case 'a': out << 'A'; break
    default: out << 'D'
    case 'b': out << 'B'
  }
  out
}
println pick('a')
println pick('b')
println pick('c')
