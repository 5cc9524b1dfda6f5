// methods taking a map as named arguments
def deploy(Map opts) {
  "${opts.env}:${opts.version ?: 'latest'}"
}
def step(Map args, String name) { "${name} ${args}" }
println deploy(env: 'prod', version: '1.2')
println deploy(env: 'dev')
println step('sh', returnStdout: true)
