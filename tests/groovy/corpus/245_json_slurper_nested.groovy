// JsonSlurper with nested arrays of objects
import groovy.json.*
def text = '''{"builds": [{"id": 1, "result": "SUCCESS"}, {"id": 2, "result": "FAILURE"}]}'''
def j = new JsonSlurper().parseText(text)
println j.builds.size()
println j.builds*.result
println j.builds.find { it.result == 'FAILURE' }.id
println j.builds.collect { it.id }.sum()
println JsonOutput.toJson(j)
