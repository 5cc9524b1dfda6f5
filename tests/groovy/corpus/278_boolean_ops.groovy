// boolean operators, xor, and comparisons of booleans
println(true & false)
println(true | false)
println(true ^ true)
println(!true)
println(true == 'true'.toBoolean())
println([true, false, true].count(true))
println([true, false].any())
println(false <=> true)
