// trim, and trim().isEmpty() for blank checks
println "[${'  padded  '.trim()}]"
println "[${'\tx\n'.trim()}]"
println '   '.trim().isEmpty()
println ''.isEmpty()
println ' a '.trim().size()
