// join with separators and non-string elements
println([1, 2, 3].join(','))
println(['a', 'b'].join())
println([].join('-'))
println(['x', null, 3].join('/'))
println([[1, 2], [3]].join(' | '))
println(['a', 'b', 'c'].join(', '))
