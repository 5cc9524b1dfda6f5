// find used to stop iteration early, since each cannot break
def seen = []
def hit = [1, 2, 3, 4].find { seen << it; it == 2 }
println hit
println seen
def seen2 = []
[1, 2, 3].any { seen2 << it; it >= 2 }
println seen2
