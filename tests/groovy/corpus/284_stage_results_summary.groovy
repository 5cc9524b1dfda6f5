// summarising stage results like a post block
def results = [build: 'SUCCESS', test: 'UNSTABLE', deploy: 'SKIPPED', lint: 'SUCCESS']
def order = ['SUCCESS', 'UNSTABLE', 'FAILURE']
def worst = results.values().findAll { it in order }.max { order.indexOf(it) }
println worst
println results.findAll { it.value == 'SUCCESS' }.keySet().join(', ')
println results.collect { k, v -> "${k.padRight(8)}${v}" }.join('\n')
