// =~ creates a Matcher; [0] is the first match
def m = 'version: 1.2.3' =~ /(\d+)\.(\d+)\.(\d+)/
println m[0]
println m[0][0]
println m[0][1]
println m[0][3]
println m.size()
