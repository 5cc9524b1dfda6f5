// lists of maps filtered, sorted and projected
def stages = [[name: 'build', ok: true, ms: 300], [name: 'test', ok: false, ms: 1200], [name: 'lint', ok: true, ms: 50]]
println stages.findAll { it.ok }.collect { it.name }
println stages.sort { it.ms }.collect { it.name }.join(' > ')
println stages.find { !it.ok }?.name
println stages.sum { it.ms }
println stages.collect { "${it.name}(${it.ms}ms)" }
