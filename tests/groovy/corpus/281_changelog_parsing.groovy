// parsing commit log lines with regex into maps
def log = '''abc1234 feat: add canary
def5678 fix(api): null check
0011223 chore: bump deps
9988776 feat(ui): dark mode'''
def commits = log.readLines().collect { line ->
  def m = line =~ /^(\w+) (\w+)(?:\((\w+)\))?: (.*)$/
  [sha: m[0][1], type: m[0][2], scope: m[0][3], msg: m[0][4]]
}
println commits.groupBy { it.type }.collectEntries { k, v -> [k, v*.sha] }
println commits.findAll { it.scope }*.scope
println commits.collect { "- ${it.msg}" }.join('\n')
