// intersect, disjoint, plus on sets
println([1, 2, 3].intersect([2, 3, 4]))
println([1, 2].disjoint([3]))
println([1, 2].disjoint([2]))
println(([1, 2] as Set) + 3 == [1, 2, 3] as Set)
