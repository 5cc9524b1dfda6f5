// an uncaught MissingPropertyException for an undefined variable
println 'start'
println "value: ${notDefinedAnywhere}"
