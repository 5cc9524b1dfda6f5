// numeric environment-style values parsed from strings
def env = [BUILD_NUMBER: '41', RETRIES: '3', TIMEOUT: '']
def next = env.BUILD_NUMBER.toInteger() + 1
println next
println((env.RETRIES as int) * 2)
println(env.TIMEOUT ? env.TIMEOUT.toInteger() : 30)
println((env.MISSING ?: '5').toInteger())
println env.BUILD_NUMBER + 1
