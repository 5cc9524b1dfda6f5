// classic for loops with init, condition and update
for (int i = 0; i < 3; i++) {
  println "i=$i"
}
def out = []
for (def j = 10; j > 0; j -= 4) out << j
println out
