// ==~ requires the whole string to match
println('1.2.3' ==~ /\d+\.\d+\.\d+/)
println('v1.2.3' ==~ /\d+\.\d+\.\d+/)
println('main' ==~ /main|master/)
println('master' ==~ 'main|master')
println('PR-12' ==~ /PR-\d+/)
