// contains, indexOf, lastIndexOf and in
def l = ['a', 'b', 'c', 'b']
println l.contains('b')
println l.contains('z')
println l.indexOf('b')
println l.lastIndexOf('b')
println l.indexOf('z')
println('c' in l)
println([1, 2].contains(1L))
