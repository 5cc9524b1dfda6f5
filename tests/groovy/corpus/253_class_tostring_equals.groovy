// overriding toString and equals in classes
class Point {
  int x, y
  String toString() { "(${x}, ${y})" }
  boolean equals(Object o) { o instanceof Point && o.x == x && o.y == y }
  int hashCode() { x * 31 + y }
}
def p = new Point(x: 1, y: 2)
println p
println "p=$p"
println([p, new Point(x: 3, y: 4)])
println(p == new Point(x: 1, y: 2))
println(p == new Point(x: 2, y: 1))
