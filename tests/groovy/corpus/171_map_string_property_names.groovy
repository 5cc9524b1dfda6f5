// property-style access with dashes and numbers via quoted names
def m = ['build-id': 7, 'x.y': 'dot']
println m.'build-id'
println m['x.y']
println m."x.y"
