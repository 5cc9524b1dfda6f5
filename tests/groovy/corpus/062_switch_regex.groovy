// switch cases on regex patterns match the whole string
def branchKind = { b ->
  switch (b) {
    case ~/release\/.*/: return 'release'
    case ~/feature-\d+/: return 'feature'
    case 'main': return 'main'
    default: return 'other'
  }
}
['release/1.0', 'feature-12', 'feature-x', 'main', 'xmain'].each { println "$it -> ${branchKind(it)}" }
