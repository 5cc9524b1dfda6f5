// building JSON from pipeline data and parsing it back
import groovy.json.JsonOutput
import groovy.json.JsonSlurper
def payload = [run: 42, stages: [[name: 'build', ok: true], [name: 'test', ok: false]], tag: "v${1 + 1}"]
def json = JsonOutput.toJson(payload)
println json
def back = new JsonSlurper().parseText(json)
println back.stages.findAll { !it.ok }*.name
println back.run == 42
println back.tag
