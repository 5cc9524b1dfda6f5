// finally runs after try and after catch
def log = []
try {
  log << 'try'
} finally {
  log << 'finally'
}
try {
  log << 'try2'
  throw new RuntimeException('r')
} catch (e) {
  log << 'catch ' + e.message
} finally {
  log << 'finally2'
}
println log
