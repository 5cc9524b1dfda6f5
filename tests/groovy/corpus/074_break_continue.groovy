// break and continue in for and while loops
def out = []
for (i in 1..10) {
  if (i % 2 == 0) continue
  if (i > 7) break
  out << i
}
println out
def j = 0
while (true) {
  j++
  if (j == 3) continue
  if (j > 5) break
  print j
}
println ''
