// indexOf and lastIndexOf
def s = 'a/b/c/d'
println s.indexOf('/')
println s.lastIndexOf('/')
println s.indexOf('/', 2)
println s.indexOf('x')
println s.substring(s.lastIndexOf('/') + 1)
println s.indexOf('b/c')
