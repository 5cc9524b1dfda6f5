// list slicing with ranges and index lists
def l = [10, 20, 30, 40, 50]
println l[1..2]
println l[1..<3]
println l[-2..-1]
println l[3..1]
println l[0, 2, 4]
println l[2..-1]
