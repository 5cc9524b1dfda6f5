// printing deeply nested structures
def data = [name: 'root', children: [[name: 'a', tags: []], [name: 'b', tags: ['x', null]]], meta: [:]]
println data
println data.children*.name
println data.children.tags
println data.children.tags.flatten()
