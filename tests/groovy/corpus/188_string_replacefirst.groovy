// replaceFirst replaces only the first match
println 'aaa'.replaceFirst('a', 'b')
println 'release/1.0/final'.replaceFirst(/\//, '-')
println 'x1y2'.replaceFirst(/\d/) { "<$it>" }
println 'origin/main'.replaceFirst(/^origin\//, '')
