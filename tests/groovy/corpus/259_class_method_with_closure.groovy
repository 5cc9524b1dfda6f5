// class methods taking closures
class Pipeline {
  List<String> stages = []
  def stage(String name, Closure body) {
    stages << name
    body()
  }
}
def p = new Pipeline()
p.stage('build') { println 'building' }
p.stage('test') { println 'testing' }
println p.stages
