// triple-quoted strings keep newlines; triple-double ones interpolate
def v = 'V'
def s1 = '''line1
line2'''
def s2 = """first ${v}
second"""
println s1
println s2
println s1.readLines().size()
println '''\
no leading newline'''
