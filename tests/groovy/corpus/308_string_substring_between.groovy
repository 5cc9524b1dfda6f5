// extracting text between markers
def s = 'prefix[important]suffix'
def start = s.indexOf('[') + 1
def end = s.indexOf(']')
println s.substring(start, end)
println s.find(/\[(.*)\]/) { all, inner -> inner }
println s.tokenize('[]')
