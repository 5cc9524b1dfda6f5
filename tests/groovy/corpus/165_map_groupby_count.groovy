// countBy and groupBy over lists of maps
def runs = [[r: 'ok'], [r: 'fail'], [r: 'ok'], [r: 'skip'], [r: 'ok']]
println runs.countBy { it.r }
println runs.groupBy { it.r }.collectEntries { k, v -> [k, v.size()] }
