// for-in over a map iterates entries in insertion order
def m = [z: 1, a: 2, m: 3]
for (e in m) {
  println "${e.key}=${e.value}"
}
for (k in m.keySet()) print k
println ''
