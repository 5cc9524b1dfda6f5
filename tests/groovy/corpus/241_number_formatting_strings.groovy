// numbers rendered in strings and joins
def pct = 12.5
println "coverage ${pct}%"
println "ratio ${2 / 8}"
println "avg ${[1, 2, 3, 4].sum() / 4}"
println "avg ${[1, 2].sum() / 2}"
println "dbl ${1 / 4.0d}"
println([1.0, 2.50, 3].join(' '))
