// toString on numbers, lists, maps, booleans and ranges
println 1.5.toString()
println 100L.toString()
println true.toString()
println([1, [2]].toString())
println([a: 1].toString())
println((1..3).toString())
println((1..<3).toString())
println(('a'..'c').toString())
