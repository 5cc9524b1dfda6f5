// format via String.format with booleans, null and the method on strings
println String.format('%b %s', true, null)
println String.format('%s and %s', 'a', [1, 2])
println String.format('Build %s: %d tests', 'ok', 3)
println sprintf('%02d:%02d', 5, 7)
println String.format('%.3f', 2.0d)
println String.format('%e', 12345.678d)
