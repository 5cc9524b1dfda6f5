// generated getters and setters, and custom getters
class Build {
  int number
  String status = 'PENDING'
  String getLabel() { "#${number} ${status}" }
}
def b = new Build(number: 7)
println b.getNumber()
b.setStatus('SUCCESS')
println b.status
println b.label
println b.getLabel()
b.number++
println b.label
