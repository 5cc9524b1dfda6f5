// GString keys converted with toString for map lookups
def name = 'prod'
def m = [(name): 1]
println m["${name}"]
println m.get("${name}".toString())
def m2 = [:]
m2["env-${name}".toString()] = 'x'
println m2.keySet()
println m2['env-prod']
