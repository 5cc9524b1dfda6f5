// += on strings, and String multiply
def s = 'a'
s += 'b'
s += 1
s += null
println s
def line = '-' * 10
println line
println('ab' * 3)
println('x' * 0)
