// closures returning closures (counters and adders)
def makeCounter() {
  def n = 0
  return { -> ++n }
}
def adder = { x -> { y -> x + y } }
def c1 = makeCounter()
def c2 = makeCounter()
c1(); c1()
println c1()
println c2()
println adder(10)(5)
