// toInteger, toLong, toBigDecimal, toDouble and isInteger
println '42'.toInteger() + 1
println ' 7 '.trim().toInteger()
println '-12'.toInteger()
println '9000000000'.toLong()
println '1.50'.toBigDecimal()
println '2.5'.toDouble()
println '42'.isInteger()
println '4.2'.isInteger()
println 'abc'.isInteger()
println '4.2'.isNumber()
println '1e3'.isBigDecimal()
