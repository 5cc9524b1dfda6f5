// splitting with regex special characters and limits
println 'a1b2c3'.split(/\d/).toList()
println 'k=v=w'.split('=', 2).toList()
println 'a  b'.split(/ /).toList()
println ' x y '.split(/\s/).toList()
