// top-N by value from a map
def scores = [ann: 5, bob: 9, cid: 7, dan: 9]
def top = scores.sort { a, b -> b.value <=> a.value ?: a.key <=> b.key }.take(3)
println top
println top.keySet().toList()
println scores.max { it.value }.key
