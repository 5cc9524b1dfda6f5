// collectEntries builds maps from lists
println(['a', 'b'].collectEntries { [it, it.toUpperCase()] })
println([1, 2, 3].collectEntries { [(it): it * it] })
println([['k1', 1], ['k2', 2]].collectEntries())
println(['x', 'y'].withIndex().collectEntries { v, i -> [v, i] })
