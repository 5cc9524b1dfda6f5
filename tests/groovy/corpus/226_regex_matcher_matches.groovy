// (s =~ /x/).matches() and find() on matchers
def m = 'abc' =~ /b/
println m.matches()
println m.find()
def m2 = 'abc' =~ /a.c/
println m2.matches()
def m3 = 'x=1, y=2' =~ /(\w)=(\d)/
while (m3.find()) { println "${m3.group(1)} -> ${m3.group(2)}" }
