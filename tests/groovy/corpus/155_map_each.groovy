// each over maps with one and two parameters
def m = [a: 1, b: 2]
m.each { k, v -> println "$k -> $v" }
m.each { e -> println "${e.key} = ${e.value}" }
m.each { println it }
m.eachWithIndex { e, i -> println "$i ${e.key}" }
