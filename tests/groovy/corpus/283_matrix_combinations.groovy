// generating matrix combinations with nested collect and combinations
def axes = [os: ['linux', 'mac'], jdk: ['11', '17']]
def cells = []
axes.os.each { os -> axes.jdk.each { jdk -> cells << [os: os, jdk: jdk] } }
println cells
println cells.size()
println([['a', 'b'], [1, 2]].combinations())
println cells.findAll { !(it.os == 'mac' && it.jdk == '11') }.collect { "${it.os}-${it.jdk}" }
