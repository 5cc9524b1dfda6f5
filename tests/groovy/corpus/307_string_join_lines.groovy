// joining and splitting multi-line text
def lines = ['one', 'two', 'three']
def text = lines.join('\n')
println text
println text.split('\n').size()
println text.readLines().reverse().join(' ')
println text.count('\n')
