// switch on a GString value matches String cases
def env = 'prod'
def key = "${env}-eu"
switch (key) {
  case 'prod-eu': println 'matched string case'; break
  default: println 'no match'
}
switch ("x") {
  case ~/x/: println 'regex on gstring'; break
}
