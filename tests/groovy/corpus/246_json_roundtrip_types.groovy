// JsonSlurper number types and round trips
import groovy.json.*
def j = new JsonSlurper().parseText('{"i": 7, "big": 12345678901, "d": 1.25, "e": 1e2, "neg": -3}')
println j.i.getClass().name
println j.big.getClass().name
println j.d.getClass().name
println j.d
println j.e
println j.neg
println JsonOutput.toJson(j)
