// recursive methods: factorial with BigInteger growth, fibonacci
def fact(n) { n <= 1 ? 1 : n * fact(n - 1) }
def fib(n) { n < 2 ? n : fib(n - 1) + fib(n - 2) }
println fact(5)
println fact(20)
println fact(25)
println((0..10).collect { fib(it) })
