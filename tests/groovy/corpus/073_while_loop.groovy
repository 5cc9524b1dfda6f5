// while loops with counters
def n = 1
def steps = 0
while (n < 100) {
  n *= 3
  steps++
}
println n
println steps
def i = 0
while (i < 3) println(i++)
