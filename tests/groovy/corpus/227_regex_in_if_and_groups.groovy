// regex match in if conditions and extracting groups for versions
def tag = 'release-2.14.0'
def m = tag =~ /release-(\d+)\.(\d+)\.(\d+)/
if (m) {
  def (major, minor, patch) = [m[0][1], m[0][2], m[0][3]]*.toInteger()
  println "major=$major minor=$minor patch=$patch"
  println "${major}.${minor + 1}.0"
}
if (!('abc' =~ /\d/)) println 'no digit'
