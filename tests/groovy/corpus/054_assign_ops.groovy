// compound assignment operators
def n = 10
n += 5; println n
n -= 3; println n
n *= 2; println n
n %= 7; println n
n /= 4; println n
def p = 2
p **= 3; println p
