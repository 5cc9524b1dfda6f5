// replaceAll with regex groups $1 and closures
println 'v1.2.3'.replaceAll(/(\d+)\.(\d+)/, '$2.$1')
println 'hello world'.replaceAll(/o/, '0')
println 'foo-bar-baz'.replaceAll(/-(\w)/) { all, c -> c.toUpperCase() }
println 'a1b2'.replaceAll('[0-9]', '#')
println 'price: 10'.replaceAll(/(\d+)/, '\\$$1')
println 'tabs\tand spaces'.replaceAll(/\s+/, '_')
