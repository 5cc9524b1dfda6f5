// GString with method calls, ternaries and nested quotes
def name = 'gantry'
def n = 3
println "${name.toUpperCase()} has ${name.size()} letters"
println "${n > 2 ? 'many' : 'few'}"
println "items: ${[1, 2, 3].collect { it * 2 }.join(',')}"
println "nested ${"inner ${n}"}"
println "${name}-${n}".length()
