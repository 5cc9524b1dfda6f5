// literal methods do not treat arguments as regex
println 'a.b'.contains('.')
println 'a*b'.replace('*', 'x')
println 'a.b.c'.split('.').size()
println 'a|b'.split(/\|/).toList()
println 'a|b'.tokenize('|')
