// for-in over a string iterates characters
def chars = []
for (c in 'hey') chars << c
println chars
println chars.join('-')
for (ch in 'ab') println ch.getClass().name
