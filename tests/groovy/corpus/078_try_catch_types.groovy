// catch blocks are tried in order by exception type
def attempt = { Closure c ->
  try {
    c()
    'ok'
  } catch (IllegalArgumentException e) {
    "IAE: ${e.message}"
  } catch (RuntimeException e) {
    "RTE: ${e.message}"
  } catch (Exception e) {
    "EX: ${e.message}"
  }
}
println attempt { throw new IllegalArgumentException('bad arg') }
println attempt { throw new RuntimeException('runtime') }
println attempt { throw new Exception('checked') }
println attempt { 1 }
