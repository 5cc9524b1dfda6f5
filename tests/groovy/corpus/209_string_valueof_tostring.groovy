// String.valueOf, toString and as String
println String.valueOf(42)
println String.valueOf(1.5)
println String.valueOf(null as Object)
println String.valueOf(true)
println 42.toString() + 1
println((42 as String).size())
println([1, 2].toString().size())
