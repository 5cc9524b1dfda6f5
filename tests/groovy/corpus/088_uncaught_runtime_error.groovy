// an uncaught RuntimeException like Jenkins' error step
def error(String msg) { throw new RuntimeException(msg) }
println 'building'
error('Build failed: tests red')
