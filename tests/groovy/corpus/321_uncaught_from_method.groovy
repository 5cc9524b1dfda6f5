// an uncaught exception thrown from a nested method call
def validate(Map p) {
  if (!p.version) throw new IllegalArgumentException('version is required')
  p.version
}
println validate(version: '1.0')
println validate([:])
