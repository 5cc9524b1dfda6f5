// collectEntries on maps transforms keys and values
def m = [a: 1, b: 2]
println m.collectEntries { k, v -> [k.toUpperCase(), v * 100] }
println m.collectEntries { e -> [(e.value): e.key] }
println m.collectEntries { k, v -> [("${k}_x".toString()): v] }
