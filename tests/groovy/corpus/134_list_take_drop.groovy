// take, drop, takeWhile, dropWhile
def l = [1, 2, 3, 4, 5]
println l.take(2)
println l.drop(2)
println l.take(10)
println l.drop(10)
println l.takeWhile { it < 3 }
println l.dropWhile { it < 3 }
