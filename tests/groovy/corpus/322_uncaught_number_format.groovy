// an uncaught NumberFormatException from toInteger on bad input
def inputs = ['10', '20', 'thirty']
def total = 0
inputs.each { total += it.toInteger(); println total }
