// split drops trailing empty strings but keeps leading ones
println 'a,b,,'.split(',').toList()
println 'a,b,,'.split(',').size()
println ',a,b'.split(',').toList()
println ''.split(',').toList()
println ''.split(',').size()
println 'a,,b'.split(',').toList()
println 'a,b,,'.split(',', -1).toList()
