// passing asserts print nothing
assert 1 + 1 == 2
assert 'abc'.contains('b')
assert [1, 2]
assert [a: 1].a == 1 : 'message'
println 'all asserts passed'
