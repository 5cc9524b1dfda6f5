// reading maps with dot, subscript, get and get with default
def m = [name: 'gantry', 'with space': 1, 5: 'five']
println m.name
println m['name']
println m.get('name')
println m['with space']
println m[5]
println m.missing
println m.get('missing', 'dflt')
println m
