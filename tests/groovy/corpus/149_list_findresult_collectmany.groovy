// findResult, collectMany and grep
println([1, 2, 3].findResult { it > 1 ? it * 10 : null })
println([1, 2].collectMany { [it, it] })
println(['a1', 'b', 'c22'].grep(~/.*\d/))
println([1, 'a', 2.0, null].grep(Number))
println([1, 5, 9].grep(2..6))
