// JsonOutput.prettyPrint indents with four spaces
import groovy.json.JsonOutput
def json = JsonOutput.toJson([name: 'x', tags: ['a', 'b'], meta: [n: 1]])
println JsonOutput.prettyPrint(json)
println JsonOutput.prettyPrint('[]')
