// printing strings with quotes, backslashes and unicode
println 'say "hi"'
println "it's"
println 'c:\\dir'
println 'caf\u00e9'
println 'tab[\t]'
