// formatting a table with padRight and String.format
def rows = [['build', 12], ['test', 345], ['deploy', 7]]
rows.each { name, ms -> println "${name.padRight(8, '.')}${ms.toString().padLeft(5)}ms" }
rows.each { println String.format('%-8s|%5d', it[0], it[1]) }
