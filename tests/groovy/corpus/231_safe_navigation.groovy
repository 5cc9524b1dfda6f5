// ?. returns null instead of throwing
def m = null
println m?.name
println m?.size()
def n = [a: [b: null]]
println n.a?.b?.c
println n?.a?.b
def s = null
println s?.trim()?.toUpperCase()
println "x${s?.length()}"
