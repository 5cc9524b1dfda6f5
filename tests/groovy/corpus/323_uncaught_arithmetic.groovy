// an uncaught ArithmeticException from integer division by zero
def counts = [ok: 3, total: 0]
println 'computing rate'
println counts.ok.intdiv(counts.total)
