// switch without break falls through to the next cases
def trace = []
def n = 2
switch (n) {
  case 1: trace << 'one'
  case 2: trace << 'two'
  case 3: trace << 'three'
  case 4: trace << 'four'; break
  case 5: trace << 'five'
}
println trace
switch ('z') {
  case 'a':
  case 'z': println 'a or z'; break
  default: println 'default'
}
