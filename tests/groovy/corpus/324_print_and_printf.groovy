// print without newline and printf
print 'a'
print 'b'
println()
printf('%s-%d%n', 'x', 5)
print 1
print ' '
print null
println ''
println 'end'
