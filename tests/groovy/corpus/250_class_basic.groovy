// a simple class with properties, constructor and methods
class Foo {
  String name
  int n = 1
  Foo(String name) { this.name = name }
  def greet() { "Hello ${name} x${n}" }
}
def f = new Foo('gantry')
println f.greet()
f.n = 3
println f.greet()
println f.name
println f.n
