// def and typed declarations coerce values
String s = 5
int i = 7
long l = 3
double d = 2
def x = 'dyn'
println s
println s.getClass().name
println l.getClass().name
println d
println(i + l + d)
println x
