// @Field collections shared between methods
import groovy.transform.Field
@Field List<String> log = []
@Field Map config = [env: 'dev']
def record(String s) { log << "[${config.env}] ${s}" }
record('start')
config.env = 'prod'
record('deploy')
println log
println log.size()
