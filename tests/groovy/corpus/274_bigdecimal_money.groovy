// money-like sums with BigDecimal keep exact cents
def prices = [19.99, 5.01, 0.10]
def total = prices.sum()
println total
println total * 2
println total / 3
println((total * 1.1).setScale(2, BigDecimal.ROUND_HALF_UP))
println total > 25
