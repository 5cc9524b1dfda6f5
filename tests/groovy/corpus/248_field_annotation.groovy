// @Field makes script variables visible in methods
import groovy.transform.Field
@Field def counter = 0
@Field String prefix = 'build-'
def next() {
  counter++
  prefix + counter
}
println next()
println next()
println counter
