// JsonOutput escaping of control characters and slashes
import groovy.json.JsonOutput
println JsonOutput.toJson('line1\nline2\ttab')
println JsonOutput.toJson('a/b')
println JsonOutput.toJson([k: "v${1}"])
