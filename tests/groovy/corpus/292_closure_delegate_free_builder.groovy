// a small builder using closures that collect calls into a list
def calls = []
def sh = { String cmd -> calls << "sh:$cmd" }
def echo = { String msg -> calls << "echo:$msg" }
def stage = { String name, Closure body -> calls << "stage:$name"; body() }
stage('Build') {
  echo 'compiling'
  sh 'make'
}
stage('Test') { sh 'make test' }
println calls
