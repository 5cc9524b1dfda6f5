// for-in over a list
def total = 0
for (x in [1, 2, 3, 4]) {
  total += x
}
println total
for (String s : ['a', 'b']) println s.toUpperCase()
for (def x : []) println 'never'
println 'end'
