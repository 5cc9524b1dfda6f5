// findAll and find
def l = [5, 12, 7, 20, 3]
println l.findAll { it > 6 }
println l.find { it > 6 }
println l.find { it > 100 }
println l.findAll { it > 100 }
println([null, 0, '', 'a', 1].findAll())
println(['apple', 'bob', 'avocado'].findAll { it.startsWith('a') })
