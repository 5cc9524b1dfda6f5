// any and every with and without closures
def l = [2, 4, 6]
println l.any { it > 5 }
println l.every { it % 2 == 0 }
println l.every { it > 2 }
println([].any { true })
println([].every { false })
println([0, null, 1].any())
println([1, 'a'].every())
