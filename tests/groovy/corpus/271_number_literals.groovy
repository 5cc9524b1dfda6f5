// numeric literal forms: underscores, hex, octal, binary, suffixes, exponents
println 1_000_000
println 0xFF
println 010
println 0b101
println 10L + 1
println 1.5f
println 1e3
println 1.5e-2
println 2.5d
println 100G
