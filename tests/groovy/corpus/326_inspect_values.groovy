// inspect renders strings with quotes
println 'x'.inspect()
println 1.inspect()
println null.inspect()
println([1, 'a', [b: 'c']].inspect())
println 'it\'s'.inspect()
println 'a\nb'.inspect()
