// collate chunks a list; transpose zips lists
println([1, 2, 3, 4, 5].collate(2))
println([1, 2, 3, 4, 5].collate(2, false))
println([[1, 2, 3], ['a', 'b', 'c']].transpose())
