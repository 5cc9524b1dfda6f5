// concatenating null, booleans, lists and maps
println('a' + null)
println('b' + true)
println('list: ' + [1, 2])
println('map: ' + [k: 'v'])
println('c' + 'd' * 2)
def s = 'x'
s += 1
println s
