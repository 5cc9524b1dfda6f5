// compareTo method calls on numbers and strings
println(5.compareTo(3))
println('b'.compareTo('a') > 0)
println(2.5.compareTo(2.50))
println(7L.compareTo(7L))
