// JsonSlurper parses into maps and lists
import groovy.json.JsonSlurper
def data = new JsonSlurper().parseText('{"name": "svc", "replicas": 3, "tags": ["a", "b"], "ratio": 0.5, "on": true, "x": null}')
println data.name
println data.replicas + 1
println data.tags
println data.tags[1]
println data.ratio
println data.on
println data.x
println data.keySet()
