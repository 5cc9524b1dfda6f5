// chained Elvis with safe navigation over params
def params = [TARGET: '', FALLBACK: null, OTHER: 'o']
println(params.TARGET ?: params.FALLBACK ?: params.OTHER ?: 'none')
println(params.MISSING?.trim() ?: 'absent')
def v = params.FALLBACK
v = v ?: 'filled'
println v
