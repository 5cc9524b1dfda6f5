// parsing key=value lines into a map
def text = '''name=gantry
version=1.2
# comment
empty=
'''
def props = [:]
text.readLines().findAll { it && !it.startsWith('#') }.each { line ->
  def (k, v) = line.split('=', 2).toList()
  props[k] = v
}
println props
println props.empty.isEmpty()
