// an uncaught exception ends the program after its output
println 'before'
def check = { v -> if (!v) throw new Exception('boom') }
check(true)
println 'middle'
check(false)
println 'never'
