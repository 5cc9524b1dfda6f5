// ranges: inclusive, exclusive, printing and size
def r = 1..5
println r
println r.size()
println((1..<5))
println((1..<5).size())
println r.toList()
println r.from
println r.to
