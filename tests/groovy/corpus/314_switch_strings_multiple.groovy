// switch on strings with several labels per branch
def envType = { String e ->
  switch (e.toLowerCase()) {
    case 'prod':
    case 'production':
      return 'live'
    case ['stage', 'staging', 'qa']:
      return 'pre'
    default:
      return 'dev'
  }
}
println(['PROD', 'production', 'QA', 'staging', 'feature'].collect(envType))
