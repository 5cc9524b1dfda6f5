// matches tests the whole string against a regex
println 'v1.2.3'.matches(/v\d+\.\d+\.\d+/)
println 'v1.2.3-rc'.matches(/v\d+\.\d+\.\d+/)
println 'abc'.matches('a.c')
println 'ABC'.matches('(?i)abc')
