// count by value and by closure
def l = [1, 2, 2, 3, 2]
println l.count(2)
println l.count { it > 1 }
println(['a', 'bb', 'cc'].count { it.size() == 2 })
