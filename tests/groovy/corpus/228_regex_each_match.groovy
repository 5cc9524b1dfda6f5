// iterating all matches with each and eachMatch
('a1 b2 c3' =~ /(\w)(\d)/).each { all, letter, digit -> println "$letter$digit=$all" }
'x9 y8'.eachMatch(/(\w)(\d)/) { all, l, d -> println "$l:$d" }
