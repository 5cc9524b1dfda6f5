// if without braces, nested if, and one-line forms
def x = 4
if (x > 3) println 'big'
if (x > 10) println 'huge' else println 'not huge'
if (x % 2 == 0)
  if (x > 2) println 'even and > 2'
println 'done'
