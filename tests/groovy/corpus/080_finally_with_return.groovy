// finally runs when a method returns from try
def log = []
def f() {
  try {
    return 'from try'
  } finally {
    println 'finally ran'
  }
}
println f()
def g(List log) {
  for (i in 1..3) {
    try {
      if (i == 2) return i
    } finally {
      log << i
    }
  }
}
println g(log)
println log
