// converting lists to arrays and back, and array indexing
String[] arr = ['x', 'y', 'z'] as String[]
println arr.length
println arr[1]
println arr[-1]
println arr.toList().reverse()
println arr.join('+')
println(arr as List)
