// printing lists: nested, with nulls and strings without quotes
println([])
println([1, 'a', null, 2.5, true])
println([[1, 2], [3, [4]]])
println(['a b', 'c'])
println([a: [1, 2]].a)
def l = [1, 2, 3]
println l.toString()
println "l=$l"
