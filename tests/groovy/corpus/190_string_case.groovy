// toLowerCase, toUpperCase, capitalize, uncapitalize
println 'MiXeD'.toLowerCase()
println 'MiXeD'.toUpperCase()
println 'hello world'.capitalize()
println 'Hello'.uncapitalize()
println ''.capitalize()
println 'éa'.toUpperCase()
