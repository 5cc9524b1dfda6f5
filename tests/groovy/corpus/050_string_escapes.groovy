// escape sequences in single and double quoted strings
println 'tab\there'
println "quote \" and 'single'"
println 'it\'s'
println "back\\slash"
println 'uni\u0041'
println 'a\nb'
