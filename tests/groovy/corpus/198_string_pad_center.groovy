// padLeft, padRight and center
println '[' + '7'.padLeft(3, '0') + ']'
println '[' + 'ab'.padRight(5) + ']'
println '[' + 'ab'.padLeft(5, '*') + ']'
println '[' + 'ab'.center(6) + ']'
println '[' + 'ab'.center(7, '-') + ']'
println '[' + 'abcdef'.padLeft(3) + ']'
println '[' + 'ab'.padRight(6, 'xy') + ']'
