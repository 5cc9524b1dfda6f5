// GString rendering of null, lists and maps
def n = null
println "n=${n}"
println "l=${[1, 'a', null]}"
println "m=${[a: 1, b: [2, 3]]}"
println "e=${[]} ${[:]}"
