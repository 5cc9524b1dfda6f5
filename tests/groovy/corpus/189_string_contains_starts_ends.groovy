// contains, startsWith and endsWith
def b = 'feature/login-page'
println b.contains('login')
println b.contains('Login')
println b.startsWith('feature/')
println b.endsWith('page')
println b.startsWith('release')
println ''.contains('')
