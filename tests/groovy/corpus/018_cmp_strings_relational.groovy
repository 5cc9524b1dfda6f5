// < and > on strings
println('a' < 'b')
println('Z' < 'a')
println('abc' > 'abd')
println('' < 'a')
println('1.10' < '1.9')
