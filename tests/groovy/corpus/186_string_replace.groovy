// replace replaces all literal occurrences
println 'a.b.c'.replace('.', '/')
println 'aaa'.replace('a', 'bb')
println 'hello'.replace('l', '')
println 'x$y'.replace('$', 'S')
println 'a+b'.replace('+', ' plus ')
