// uncaught IllegalArgumentException with a GString message
def env = 'qa'
println "deploying to $env"
throw new IllegalArgumentException("unknown environment ${env}")
