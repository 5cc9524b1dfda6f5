// methods with default parameter values
def greet(name, greeting = 'Hello') {
  "${greeting}, ${name}!"
}
def add(a, b = 2, c = 3) { a + b + c }
println greet('Ann')
println greet('Bob', 'Hi')
println add(1)
println add(1, 10)
println add(1, 10, 100)
