// stripIndent and stripMargin on multi-line strings
def s = '''
    line one
      indented
    line three'''
println s.stripIndent()
def m = '''|alpha
          |beta'''.stripMargin()
println m
