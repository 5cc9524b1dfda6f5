// nested try/finally blocks unwind inner to outer
def log = []
try {
  try {
    try {
      throw new IllegalStateException('deep')
    } finally {
      log << 'inner finally'
    }
  } catch (IllegalArgumentException e) {
    log << 'wrong catch'
  } finally {
    log << 'middle finally'
  }
} catch (IllegalStateException e) {
  log << "outer caught ${e.message}"
}
println log.join(' | ')
