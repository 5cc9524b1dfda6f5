// eachWithIndex on maps and strings
[a: 1, b: 2].eachWithIndex { k, v, i -> println "$i: $k=$v" }
'xy'.eachWithIndex { ch, i -> println "$i:$ch" }
