// charAt and subscripts with negative indexes and ranges
def s = 'groovy'
println s.charAt(0)
println s[0]
println s[-1]
println s[1..3]
println s[-3..-1]
println s[3..1]
println s[0, 2, 4]
