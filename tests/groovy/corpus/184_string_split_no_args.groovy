// split() with no arguments splits on whitespace
println 'one two\tthree\nfour'.split().toList()
println '  lead and trail  '.split().toList()
println ''.split().size()
