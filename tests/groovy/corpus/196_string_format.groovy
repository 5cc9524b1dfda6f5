// String.format with common specifiers
println String.format('%05d %s %.2f', 42, 'x', 3.14159)
println String.format('%-6s|', 'ab')
println String.format('%6s|', 'ab')
println String.format('%x %X %o', 255, 255, 8)
println String.format('%,d', 1234567)
println String.format('%.1f%%', 12.345)
println String.format('%3d|%-3d|', 5, 5)
