// inheritance, super calls and overriding
class Step {
  String name
  String run() { "run ${name}" }
}
class ShellStep extends Step {
  String script
  String run() { super.run() + ": ${script}" }
}
def s = new ShellStep(name: 'sh', script: 'make')
println s.run()
println(s instanceof Step)
Step base = s
println base.run()
