// Integer.parseInt, Integer.valueOf, Long.parseLong, Double.parseDouble and as Integer
println Integer.parseInt('12') * 2
println Integer.valueOf('7') + 1
println Long.parseLong('10000000000') + 1
println Double.parseDouble('1.5') * 2
println('33' as Integer)
println(('33' as Integer).getClass().name)
println Integer.parseInt('ff', 16)
println Integer.toString(255, 2)
