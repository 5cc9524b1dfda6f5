// static methods and constants on classes
class Versions {
  static final String PREFIX = 'v'
  static String tag(int major, int minor) { "${PREFIX}${major}.${minor}" }
  static List<Integer> parse(String t) { t.substring(1).tokenize('.')*.toInteger() }
}
println Versions.tag(1, 4)
println Versions.parse('v2.10')
println Versions.PREFIX
