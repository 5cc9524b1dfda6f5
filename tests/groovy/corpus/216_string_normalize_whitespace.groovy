// collapsing whitespace and trimming each line
def s = '  a   b \n  c  '
println s.replaceAll(/\s+/, ' ').trim()
println s.readLines()*.trim()
println s.readLines().collect { it.trim() }.findAll().join(',')
