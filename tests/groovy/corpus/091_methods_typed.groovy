// methods with typed parameters and return types
int square(int x) { x * x }
String shout(String s) { s.toUpperCase() + '!' }
boolean isEven(int n) { n % 2 == 0 }
List<String> twice(String s) { [s, s] }
println square(7)
println shout('hey')
println isEven(4)
println isEven(5)
println twice('x')
