// user-defined exception classes
class DeployException extends RuntimeException {
  String env
  DeployException(String msg, String env) { super(msg); this.env = env }
}
try {
  throw new DeployException('failed', 'prod')
} catch (DeployException e) {
  println e.message
  println e.env
  println(e instanceof RuntimeException)
}
