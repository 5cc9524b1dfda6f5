// an uncaught IndexOutOfBoundsException from get()
def l = ['only']
println l[0]
println l.get(1)
