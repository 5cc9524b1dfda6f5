// reverse on strings and lists of words
println 'stressed'.reverse()
println 'a b c'.split(' ').reverse().join(' ')
println ''.reverse()
