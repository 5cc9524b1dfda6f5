// JsonOutput.toJson on maps, lists and scalars
import groovy.json.JsonOutput
println JsonOutput.toJson([name: 'gantry', n: 3, ok: true, none: null])
println JsonOutput.toJson([1, 'two', [3]])
println JsonOutput.toJson('quote " and \\')
println JsonOutput.toJson(1.5)
println JsonOutput.toJson([:])
println JsonOutput.toJson([nested: [list: [], map: [a: 1]]])
