// for-in over ranges, including reversed and exclusive
for (i in 1..3) print i
println ''
for (i in 3..1) print i
println ''
for (i in 0..<3) print i
println ''
for (c in 'a'..'e') print c
println ''
