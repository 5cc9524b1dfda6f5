// toString and class names of common exceptions
def es = [new Exception('a'), new RuntimeException('b'), new IllegalArgumentException('c'),
          new IllegalStateException('d'), new Exception(), new UnsupportedOperationException('e')]
es.each { println it.toString() }
es.each { println it.getClass().name }
println new Exception().message
