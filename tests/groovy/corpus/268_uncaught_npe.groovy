// an uncaught NullPointerException from a null receiver
def getBranch() { null }
println 'resolving branch'
println getBranch().toUpperCase()
