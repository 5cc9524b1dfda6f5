// $a.b.c property paths in GStrings stop at non-identifiers
def build = [info: [id: 42, tag: 'v1']]
println "id=$build.info.id"
println "tag=$build.info.tag."
println "end: $build.info.id!"
def file = 'report'
try {
  println "$file.txt"
} catch (MissingPropertyException e) {
  println e.message
}
println "${file}.txt"
