// building environment variable lists like withEnv
def params = [REGION: 'us-east-1', DRY_RUN: true, REPLICAS: 3]
def envList = params.collect { k, v -> "${k}=${v}" }
println envList
println envList.join(' ')
def fromList = envList.collectEntries { it.split('=', 2) as List }
println fromList
println fromList.DRY_RUN.getClass().name
