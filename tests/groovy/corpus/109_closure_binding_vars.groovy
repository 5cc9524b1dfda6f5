// variables assigned without def go to the binding and are visible in methods
counter = 5
def bump() { counter += 1 }
bump()
bump()
println counter
def readIt() { counter }
println readIt()
