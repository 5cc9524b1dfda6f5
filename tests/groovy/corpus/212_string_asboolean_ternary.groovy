// blank-string checks used in pipelines
def vals = ['', ' ', null, 'x']
vals.each { v ->
  println "${v?.trim() ? 'non-blank' : 'blank'}"
}
println vals.findAll { it?.trim() }
