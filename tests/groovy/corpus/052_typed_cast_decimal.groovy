// assigning a BigDecimal to int truncates
int i = 3.7
Integer j = 9.99
println i
println j
long l = 2.5
println l
