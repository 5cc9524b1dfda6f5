// local variables in methods and closures do not leak
def total = 100
def compute() {
  def total = 1
  total + 1
}
println compute()
println total
[1].each { def local = 5; total += local }
println total
