// ranges of characters and numbers used for bucketing
def bucket = { int n ->
  switch (n) {
    case 0..9: return 'single'
    case 10..99: return 'double'
    default: return 'many'
  }
}
println([5, 50, 500].collect(bucket))
def letters = ('a'..'z')
println letters.size()
println letters[0..2]
println letters.findAll { it in ['a', 'e', 'i', 'o', 'u'] }.join()
