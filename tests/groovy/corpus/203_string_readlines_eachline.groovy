// readLines and eachLine
def text = 'first\nsecond\n\nfourth\n'
println text.readLines()
println text.readLines().size()
text.eachLine { line, n -> println "$n: $line" }
println 'a\r\nb'.readLines()
