// BigDecimal from strings and valueOf
println new BigDecimal('1.10')
println new BigDecimal('1.10') + 1
println BigDecimal.valueOf(2.5d)
println BigDecimal.valueOf(15, 1)
println new BigDecimal('100').stripTrailingZeros()
println new BigDecimal('1.500').stripTrailingZeros().toPlainString()
println 1.5.toBigInteger()
