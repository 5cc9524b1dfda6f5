// get with a default also stores the default; counting with elvis
def m = [:]
println m.get('x', 0)
println m
def counts = [:]
'hello world'.each { ch -> if (ch != ' ') counts[ch] = (counts[ch] ?: 0) + 1 }
println counts
