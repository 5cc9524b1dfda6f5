// labeled break leaves an outer loop
def found = null
outer:
for (a in 1..5) {
  for (b in 1..5) {
    if (a * b == 12) { found = [a, b]; break outer }
  }
}
println found
