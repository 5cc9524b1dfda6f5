// comparing with null using <=> and sorting nulls
println(null <=> 1)
println(1 <=> null)
println(null <=> null)
println([3, null, 1].sort())
