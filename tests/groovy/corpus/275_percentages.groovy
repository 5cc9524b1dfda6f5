// percentage computations mixing integer and decimal division
def passed = 45
def total = 60
println passed / total * 100
println((passed * 100).intdiv(total))
println String.format('%.1f', passed / total * 100)
println Math.round(passed * 100.0d / total)
println((passed / total * 100).setScale(0, BigDecimal.ROUND_HALF_UP))
