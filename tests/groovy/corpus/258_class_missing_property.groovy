// accessing a missing property on an object throws MissingPropertyException
class Job { String name }
def j = new Job(name: 'x')
try {
  println j.nope
} catch (MissingPropertyException e) {
  println e.message
}
try {
  j.nothing()
} catch (MissingMethodException e) {
  println e.message.readLines()[0]
}
