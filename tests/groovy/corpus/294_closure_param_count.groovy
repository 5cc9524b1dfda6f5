// closures with different parameter counts passed to each over maps
def m = [x: 1]
m.each { println it.getClass().name.contains('Entry') }
m.each { k, v -> println "$k/$v" }
def c = { a, b -> }
println c.maximumNumberOfParameters
println({ -> }.maximumNumberOfParameters)
println({ it }.maximumNumberOfParameters)
