// first, last, head and tail
def l = [1, 2, 3, 4]
println l.first()
println l.last()
println l.head()
println l.tail()
println([5].tail())
println l.init()
