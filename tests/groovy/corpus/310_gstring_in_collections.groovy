// GStrings inside lists and maps print like strings
def n = 2
def l = ["n=$n", 'plain', "${n * 2}"]
println l
println l*.getClass()*.simpleName.collect { it.startsWith('GString') }
def m = [key: "v$n"]
println m
println "${l} and ${m}"
