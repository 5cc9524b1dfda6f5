// find, findAll on strings with regex and groups
println 'build 42 ok'.find(/\d+/)
println 'no digits'.find(/\d+/)
println 'a1b2c3'.findAll(/\d/)
println 'k1=v1 k2=v2'.findAll(/(\w+)=(\w+)/) { all, k, v -> "$k:$v" }
println 'tag: v3.1'.find(/v(\d+)\.(\d+)/) { all, maj, min -> maj.toInteger() * 10 + min.toInteger() }
