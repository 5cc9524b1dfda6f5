// StringBuilder and << on strings
def sb = new StringBuilder()
sb.append('a').append(1).append([2])
sb << 'b'
println sb.toString()
println sb.length()
def s = new StringBuilder('x')
3.times { s << it }
println s
println s.reverse()
