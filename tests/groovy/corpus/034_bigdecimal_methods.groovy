// BigDecimal conversions and scale
def d = 3.14159
println(d.setScale(2, BigDecimal.ROUND_HALF_UP))
println(d.toInteger())
println(2.5.setScale(0, BigDecimal.ROUND_HALF_UP))
println(d.intValue())
println(1.2345.setScale(2, BigDecimal.ROUND_DOWN))
println(d.scale())
