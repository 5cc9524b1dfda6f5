// regex flags, anchors and escaped special characters
println('HeLLo' ==~ /(?i)hello/)
println('a.b' ==~ /a\.b/)
println('axb' ==~ /a\.b/)
println('line1\nline2' =~ /(?m)^line2$/ ? 'multiline' : 'no')
println 'path/to/file.txt'.replaceAll(/.*\//, '')
println 'file.tar.gz'.replaceAll(/\.[^.]*$/, '')
