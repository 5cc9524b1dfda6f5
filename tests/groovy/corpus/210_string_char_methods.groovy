// character tests on strings and chars
println 'a'.isNumber()
println '5'.isNumber()
println Character.isDigit('5' as char)
println Character.isLetter('x' as char)
println Character.isUpperCase('Q' as char)
println (('a' as char) + 1)
println ((char) 66)
