// lists and maps of closures invoked in order
def steps = [
  checkout: { 'checked out' },
  build: { v -> "built $v" },
  test: { -> 'tested' }
]
println steps.checkout()
println steps.build('1.0')
println steps.test.call()
println steps.keySet()
def ops = [{ it + 1 }, { it * 3 }]
println ops.inject(2) { acc, f -> f(acc) }
