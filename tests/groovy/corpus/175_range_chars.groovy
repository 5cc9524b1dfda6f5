// character ranges
println(('a'..'e').toList())
println(('a'..'e').join())
println(('a'..<'d').size())
println('c' in 'a'..'e')
