// split with a regex returns an array; printed via toList
println 'a,b,c'.split(',').toList()
println 'a b  c'.split(' ').toList()
println 'a b  c'.split(/\s+/).toList()
println 'a1b22c'.split(/\d+/).toList()
println 'x.y.z'.split('\\.').toList()
println 'a,b'.split(',').size()
