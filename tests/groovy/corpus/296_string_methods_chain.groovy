// chaining string methods as pipelines do on sh output
def out = '  origin/feature/ABC-123-login  \n'
println out.trim()
println out.trim().replaceFirst(/^origin\//, '')
println out.trim().tokenize('/').last()
println out.trim().find(/[A-Z]+-\d+/)
println out.trim().split('/')[-1].toUpperCase()
println out.trim().take(6) + '...'
