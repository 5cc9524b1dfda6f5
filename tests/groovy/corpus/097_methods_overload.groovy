// method overloading chooses by argument type
def describe(String s) { "string $s" }
def describe(Integer i) { "integer $i" }
def describe(List l) { "list of ${l.size()}" }
def describe(Object o) { "object $o" }
println describe('a')
println describe(5)
println describe([1, 2])
println describe(1.5)
