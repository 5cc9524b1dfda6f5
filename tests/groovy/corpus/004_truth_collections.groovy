// Groovy truth of lists and maps: empty is false
println([] ? 't' : 'f')
println([0] ? 't' : 'f')
println([null] ? 't' : 'f')
println([:] ? 't' : 'f')
println([a: null] ? 't' : 'f')
def l = []
l << 1
println(l ? 'now true' : 'still false')
