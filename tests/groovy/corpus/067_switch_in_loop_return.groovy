// switch inside a method returning from cases
def stageFor(String branch) {
  switch (branch) {
    case 'main':
      return 'deploy'
    case ~/PR-\d+/:
      return 'test'
  }
  return 'build'
}
println stageFor('main')
println stageFor('PR-42')
println stageFor('dev')
