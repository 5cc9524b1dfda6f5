// recursive closures declared before use
def fact
fact = { n -> n <= 1 ? 1G : n * fact(n - 1) }
println fact(25)
def walk
walk = { node, depth -> [node.name * 1 + ':' + depth] + (node.kids ?: []).collectMany { walk(it, depth + 1) } }
println walk([name: 'r', kids: [[name: 'a'], [name: 'b', kids: [[name: 'c']]]]], 0)
