// ++ and -- prefix and postfix
def i = 5
println(i++)
println(i)
println(++i)
println(i--)
println(--i)
def d = 1.5
d++
println d
