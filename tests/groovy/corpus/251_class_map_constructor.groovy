// map constructor and property defaults
class Service {
  String name
  int port = 8080
  List<String> tags = []
  String url() { "http://${name}:${port}" }
}
def s = new Service(name: 'api')
println s.url()
def t = new Service(name: 'web', port: 80, tags: ['edge'])
println t.url()
println t.tags
println s.tags
