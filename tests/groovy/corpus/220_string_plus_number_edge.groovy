// number + string and string + number
println 1 + '1'
println '1' + 1
println 1 + 1 + '1'
println '1' + 1 + 1
println '' + 1 + 1
println 1.5 + '0'
