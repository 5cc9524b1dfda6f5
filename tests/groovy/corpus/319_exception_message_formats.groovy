// exception messages with null, GStrings and toString forms
def e1 = new RuntimeException((String) null)
println e1.message
println e1.toString()
def stage = 'deploy'
def e2 = new IllegalStateException("stage ${stage} failed")
println e2.message
println "${e2}"
println e2.getLocalizedMessage()
