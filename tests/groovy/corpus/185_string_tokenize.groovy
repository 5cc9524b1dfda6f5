// tokenize drops empty tokens and treats the argument as a set of characters
println 'a,b,,c,'.tokenize(',')
println 'a b  c'.tokenize()
println 'a-b_c'.tokenize('-_')
println ''.tokenize(',')
println 'k=v;x=y'.tokenize(';').collect { it.tokenize('=') }
println 'a,b'.tokenize(',').getClass().name
