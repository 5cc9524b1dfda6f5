// getClass().name for basic types
println 1.getClass().name
println 'x'.getClass().name
println 1.5.getClass().name
println([].getClass().name)
println([:].getClass().name)
println true.getClass().name
println 10000000000.getClass().name
println 1.5d.getClass().name
println "${1}".getClass().simpleName.startsWith('GString')
