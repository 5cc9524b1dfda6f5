// if / else if / else chains
def grade = { n ->
  if (n >= 90) { 'A' }
  else if (n >= 80) { 'B' }
  else if (n >= 70) { 'C' }
  else { 'F' }
}
println grade(95)
println grade(85)
println grade(72)
println grade(10)
