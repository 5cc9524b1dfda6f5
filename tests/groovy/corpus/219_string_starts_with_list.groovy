// startsWith with any over prefixes and find on lists of strings
def prefixes = ['release/', 'hotfix/']
def branches = ['release/1', 'main', 'hotfix/x', 'feature/y']
println branches.findAll { b -> prefixes.any { b.startsWith(it) } }
println branches.find { it.contains('/') && !it.startsWith('release') }
