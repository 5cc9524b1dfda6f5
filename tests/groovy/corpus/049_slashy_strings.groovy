// slashy strings need no escaping of backslashes and interpolate
def x = 'abc'
def p = /a\d+b/
println p
println(/C:\path\to/)
println(/value=${x}/)
println(/a\/b/)
def d = $/dollar $x and / slash/$
println d
