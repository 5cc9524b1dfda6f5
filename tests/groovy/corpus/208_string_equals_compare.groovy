// equals, equalsIgnoreCase, compareTo and compareToIgnoreCase
println 'Main'.equals('main')
println 'Main'.equalsIgnoreCase('main')
println 'a'.compareTo('b')
println 'B'.compareToIgnoreCase('a')
println 'x'.is('x'.toString())
