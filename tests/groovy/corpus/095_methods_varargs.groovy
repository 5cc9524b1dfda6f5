// varargs methods and passing lists
def sum(int... nums) { nums.sum() ?: 0 }
def joinAll(String sep, String... parts) { parts.join(sep) }
println sum(1, 2, 3)
println sum()
println joinAll('-', 'a', 'b', 'c')
