// && and || return booleans and short-circuit
def calls = []
def t = { calls << 't'; true }
def f = { calls << 'f'; false }
println(f() && t())
println(t() || f())
println(f() || t())
println calls
println(1 && 'a')
println(null || 0)
