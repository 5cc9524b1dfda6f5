// parsing git-like command output line by line
def status = ''' M src/a.groovy
?? new.txt
 D old.txt
A  added.groovy'''
def files = status.readLines().collect { [code: it.take(2).trim(), path: it.drop(3)] }
println files*.code
println files.findAll { it.path.endsWith('.groovy') }*.path
println files.groupBy { it.code }.keySet()
