// each returns the list; collect with index via eachWithIndex
def l = ['a', 'b']
def res = []
def ret = l.eachWithIndex { v, i -> res << "${i + 1}. $v" }
println res.join('\n')
println(ret == l)
