// spread-dot on lists with null elements and methods
def l = ['a', null, 'c']
println l*.toUpperCase()
println l*.size()
def files = [[name: 'a.txt'], [name: 'b.groovy']]
println files*.name*.toUpperCase()
println files.name
println([[1, 2], [3]]*.size())
