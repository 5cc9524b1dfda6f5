// a retry loop with attempts and backoff values
def attempts = []
def delays = []
def ok = false
int i = 0
while (!ok && i < 5) {
  i++
  attempts << i
  delays << (2 ** (i - 1)) * 100
  ok = i == 3
}
println attempts
println delays
println ok
