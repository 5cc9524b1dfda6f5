// reversed and descending ranges
println((1..5).reverse())
println((5..1).toList())
println((5..1).size())
def l = []
(3..1).each { l << it }
println l
