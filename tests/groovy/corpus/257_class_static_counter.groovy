// static fields shared by instances
class Counter {
  static int created = 0
  int id
  Counter() { created++; id = created }
}
def a = new Counter()
def b = new Counter()
println a.id
println b.id
println Counter.created
