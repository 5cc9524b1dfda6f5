// Groovy truth drives while loops over a shrinking list
def l = [1, 2, 3]
while (l) {
  println l.remove(0)
}
println l
def s = 'abc'
while (s) { s = s.drop(1); println "left: '${s}'" }
