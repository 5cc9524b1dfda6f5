#!/usr/bin/env python3
"""Writes generated Groovy conformance programs into a directory.

    python3 tests/groovy/generate.py OUTDIR [--seed N]

The programs combine operators with operand types, String methods with
inputs, and List and Map methods with inputs. Each one defines a small `show`
helper and prints one line per expression:

    <expression> => <result.inspect()> : <kind: Integer, BigDecimal, String, List, Map, ...>
    <expression> => threw <exception class name>

Each line is its own try/catch, so a failing expression does not end the
program. Only class names of exceptions are printed, never their messages, so the
programs pin down result values and types without depending on the wording
of Groovy's error messages. The same seed always writes the same files
(named g<NNN>_<kind>_<detail>.groovy, so they never collide with the
committed corpus). The test runs them through the real Groovy and through
Gantry's interpreter; they are not committed. Standard library only.
"""

import argparse
import os
import random
import re

# No closure per expression: each closure is a class to compile, and the
# oracle's time is mostly compilation.
# Results are typed by kind, not by JDK class: a List is a List whether the
# JDK made an ArrayList or a view; numbers keep their exact class.
HELPER = """\
def kind(v) {
  if (v instanceof GString) return 'GString'
  if (v instanceof List) return 'List'
  if (v instanceof Map) return 'Map'
  if (v instanceof Collection) return 'Collection'
  if (v instanceof Map.Entry) return 'Entry'
  v.getClass().simpleName
}
def show(String label, v) {
  println label + ' => ' + (v == null ? 'null' : v.inspect() + ' : ' + kind(v))
}
def threw(String label, Throwable t) {
  println label + ' => threw ' + t.getClass().name
}
"""

# Operand pools by type.
OPERANDS = {
    "int": ["0", "1", "7", "(-3)", "10"],
    "bigint": ["2147483647", "(-2147483648)"],
    "long": ["5L", "3000000000L", "(-2L)"],
    "decimal": ["0.1", "2.50", "(-1.25)", "3.0"],
    "double": ["1.5d", "0.25d", "(-2.0d)", "0.0d"],
    "string": ["'ab'", "'12'", "''", "'b'"],
    "null": ["null"],
    "bool": ["true", "false"],
    "list": ["[1, 2]", "[]", "['a']"],
}
# Next to a double, every number is dyadic (a small multiple of a power of
# two), so results are exact and print as their shortest form. Java before 19
# does not always print the shortest form (2 ** -31 prints as
# 4.6566128730773926E-10), and an interpreter should not have to copy that.
DYADIC = {
    "int": ["0", "1", "2", "(-4)", "8"],
    "bigint": ["1024"],
    "long": ["4L", "(-2L)"],
    "decimal": ["0.5", "2.50", "(-1.25)"],
    "double": ["1.5d", "0.25d", "(-2.0d)", "0.0d", "4.0d"],
}
DYADIC_DIVISOR = ["0.5d", "0.25d", "(-2.0d)", "0.0d", "4.0d", "2", "(-4)", "8L", "0.5"]
NUMERIC = ["int", "bigint", "long", "decimal", "double"]
# Right-hand operands that keep *, ** and string/list repetition small.
SMALL_RIGHT = {
    "int": ["0", "1", "2", "3"],
    "bigint": ["2"],
    "long": ["2L", "0L"],
    "decimal": ["1.0", "0.0", "2"],
    "double": ["2.0d", "0.5d", "(-1.0d)"],
    "string": ["'b'", "''"],
    "null": ["null"],
    "bool": ["true"],
    "list": ["[1]", "[]"],
}
BINARY = ["+", "-", "*", "/", "%", "**", "==", "!=", "<", "<=", ">", ">=", "<=>"]
METHOD_OPS = ["intdiv", "compareTo", "equals", "plus", "minus", "multiply", "div", "power", "mod"]

STRING_INPUTS = [
    "''", "' '", "'abc'", "'  Hello World  '", "'a,b,,c,'", "'x.y.z'", "'MiXeD case'",
    "'123'", "'-7'", "'1.5'", "'a\\tb\\nc'", "'release/1.2.3'", "'feature/ABC-42-login'",
    "'one two  three'", "'aaa'", "'k=v;x=y'", "'  '", "'Main'", "'v10'", "'2147483648'",
    "'line1\\nline2\\n'", "'path/to/file.tar.gz'", "'CamelCaseWord'", "'0'",
]
STRING_METHODS = [
    "trim()", "size()", "length()", "isEmpty()", "toUpperCase()", "toLowerCase()",
    "capitalize()", "reverse()", "split(',').toList()", "split(/\\s+/).toList()",
    "split('\\\\.').toList()", "split(',', -1).toList()", "split().toList()", "tokenize()",
    "tokenize(',')", "tokenize('/.')", "replace('a', '_')", "replaceAll(/[aeiou]/, '*')",
    "replaceAll(/(\\w)(\\w)/, '$2$1')", "replaceFirst(/\\d/, '#')", "contains('a')",
    "startsWith('a')", "endsWith('c')", "indexOf('b')", "lastIndexOf('.')", "take(3)",
    "drop(2)", "padLeft(8, '.')", "padRight(8, '.')", "center(9, '*')", "multiply(2)",
    "toInteger()", "isInteger()", "isNumber()", "toBigDecimal()", "toLong()",
    "isBigDecimal()", "substring(1)", "getAt(0)", "getAt(-1)", "getAt(0..1)", "readLines()",
    "count('a')", "minus('a')", "matches(/\\w+/)", "equalsIgnoreCase('ABC')", "toList()",
    "find(/\\d+/)", "findAll(/\\w/)", "stripIndent()", "toBoolean()", "tokenize('=;')",
    "trim().isEmpty()", "trim().size()", "split('/').toList()", "find(/[A-Z]+-\\d+/)",
    "toLowerCase().capitalize()", "collect { it * 2 }", "findAll { it != 'a' }",
    "inject('') { a, c -> c + a }", "replaceAll('\\\\s', '')",
]
STRING_EXPR_FORMS = [
    "{s} + 1", "1 + {s}", "{s} * 2", "{s} - 'a'", "\"[${{{s}}}]\"", "{s} ? 'truthy' : 'falsy'",
    "{s} ==~ /\\w+/", "({s} =~ /\\d/) ? 'has digit' : 'none'", "{s} in ['abc', '123']",
    "{s} <=> 'b'", "{s} == 'abc'", "{s}?.trim()", "{s} ?: 'elvis'", "{s} as List",
]

LIST_INPUTS = [
    "[]", "[1]", "[3, 1, 2]", "[1, 2, 2, 3]", "['b', 'a', 'c']", "['x', '', 'y']",
    "[[1, 2], [3]]", "[2.5, 1, 10L]", "[true, false, true]", "[5, -1, 0, 12]",
    "['apple', 'bob', 'avocado']", "[null, 1, null]", "[1, [2, [3]]]", "[0.1, 0.2, 0.3]",
]
LIST_METHODS = [
    "size()", "isEmpty()", "first()", "last()", "head()", "tail()", "reverse()", "sort()",
    "sort(false)", "unique()", "unique(false)", "join(',')", "join()", "sum()", "max()", "min()",
    "contains(2)", "indexOf(2)", "take(2)", "drop(1)", "count(2)", "flatten()",
    "collect { it }", "collect { it * 2 }", "findAll { it }", "find { it }", "any { it }",
    "every { it }", "inject([]) { a, b -> a + [b] }", "withIndex()", "findIndexOf { it == 2 }",
    "toString()", "plus([9])", "minus([1])", "getAt(0)", "getAt(-1)", "getAt(0..1)",
    "groupBy { it instanceof Number }", "collectEntries { [(it): true] }", "asBoolean()",
    "sort { it.toString() }", "reverse().join('-')", "findAll { it instanceof String }",
    "collect { it?.toString() }", "toSet().size()", "takeWhile { it }", "dropWhile { it }",
    "count { it }", "sum(0)", "max { it.toString().size() }", "inspect()", "multiply(2)",
    "plus(0, 'x')", "grep(Number)", "collate(2)", "indexed()", "unique { it.toString() }",
]
LIST_EXPR_FORMS = [
    "{l}.size() > 1 ? 'many' : 'few'", "{l} ? 'truthy' : 'falsy'", "{l} + 5", "{l} << 'z'",
    "{l} - null", "{l} == [1]", "\"items: ${{{l}}}\"", "'x' + {l}", "{l}*.toString()",
    "2 in {l}", "{l}.sort(false) {{ a, b -> b <=> a }}", "{l} as Set == {l}.toSet()",
]

MAP_INPUTS = [
    "[:]", "[a: 1]", "[b: 2, a: 1, c: 3]", "[x: null, y: 'v']", "[k: [1, 2], m: [n: 1]]",
    "[1: 'one', 2: 'two']", "[name: 'svc', replicas: 3, enabled: true]",
]
MAP_METHODS = [
    "size()", "isEmpty()", "keySet()", "values()", "containsKey('a')", "containsValue(1)",
    "get('a')", "get('a', 0)", "getAt('b')", "findAll { k, v -> v }", "find { it.value }?.key",
    "collect { k, v -> k }", "collect { it.value }", "collectEntries { k, v -> [(v): k] }",
    "inject(0) { a, k, v -> a + 1 }", "any { k, v -> v }", "every { k, v -> v }",
    "sort()", "sort { it.key }", "toString()", "inspect()", "plus([z: 26])", "minus([a: 1])",
    "keySet().toList()", "entrySet()*.key", "subMap(['a', 'b'])", "groupBy { it.value == null }",
    "countBy { it.value instanceof Number }", "max { it.key }.key", "asBoolean()",
    "collectEntries { k, v -> [k.toString().toUpperCase(), v] }", "findResult { it.value }",
]
MAP_EXPR_FORMS = [
    "{m}.a", "{m}['b']", "{m} ? 'truthy' : 'falsy'", "'a' in {m}", "\"map ${{{m}}}\"",
    "{m}.missing?.size()", "{m} + [a: 100]", "{m} == [a: 1]", "{m}*.key",
]


def allowed(op, left, right):
    """Combinations a pipeline could plausibly write; numbers with numbers get
    every operator, other types only the operators that mean something."""
    if left in NUMERIC and right in NUMERIC:
        return True
    if op in METHOD_OPS:
        return False
    if "null" in (left, right):
        return op in ("==", "!=", "<=>") or (op == "+" and left == "null" and right == "string")
    if left == "string":
        return op in ("+", "==", "!=", "<", "<=>") or (op in ("*", "-") and right in ("int", "string"))
    if right == "string":
        return op in ("+", "==", "<", "<=>") and left in NUMERIC
    if left == "list":
        return op in ("+", "-", "==") or (op == "*" and right == "int")
    if left == "bool":
        return right == "bool" and op in ("==", "!=", "<=>")
    return False


def label(expr):
    return "'" + expr.replace("\\", "\\\\").replace("'", "\\'") + "'"


def show(expr):
    return "try { show(%s, %s) } catch (Throwable t) { threw(%s, t) }" % (label(expr), expr, label(expr))


def operands(kind, op, right, other):
    if "double" in (kind, other) and kind in DYADIC and other in DYADIC:
        if right and op in ("/", "div", "%", "mod", "intdiv"):
            return DYADIC_DIVISOR
        if right and op in ("**", "power"):
            return ["0", "2", "(-1)", "3L", "0.5d"] if kind != "double" else ["2.0d", "(-1.0d)"]
        return DYADIC[kind]
    if right and (op in ("*", "**", "multiply", "power") or kind in ("string", "list")):
        return SMALL_RIGHT[kind]
    return OPERANDS[kind]


def operator_program(rng, op, left, right):
    lines = []
    for a in operands(left, op, False, right):
        for b in operands(right, op, True, left):
            # Repetition of strings and lists needs a small left side too.
            if op in ("*", "**", "multiply", "power") and left in ("string", "list") and right in ("bigint", "long"):
                continue
            if op in METHOD_OPS:
                recv = a if a.startswith("(") or not a[0].isdigit() else "(%s)" % a
                lines.append(show("%s.%s(%s)" % (recv, op, b)))
            else:
                lines.append(show("%s %s %s" % (a, op, b)))
    rng.shuffle(lines)
    return lines[:8]


def slug(text):
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40] or "x"


OP_NAMES = {"+": "plus", "-": "minus", "*": "times", "/": "div", "%": "mod", "**": "pow",
            "==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge", "<=>": "cmp"}


def generate(outdir, seed, counts):
    rng = random.Random(seed)
    os.makedirs(outdir, exist_ok=True)
    programs = []

    weights = {"int": 6, "bigint": 2, "long": 3, "decimal": 6, "double": 3, "string": 3,
               "null": 1, "bool": 1, "list": 1}
    kinds = sorted(weights)
    seen = set()
    while len([p for p in programs if p[0] == "ops"]) < counts["ops"]:
        op = rng.choice(BINARY + METHOD_OPS)
        if op in METHOD_OPS:
            left = rng.choice(NUMERIC)
        else:
            left = rng.choices(kinds, [weights[k] for k in kinds])[0]
        right = rng.choices(kinds, [weights[k] for k in kinds])[0]
        if (op, left, right) in seen or not allowed(op, left, right):
            continue
        seen.add((op, left, right))
        name = "ops_%s_%s_%s" % (OP_NAMES.get(op, op), left, right)
        title = "operator %s on %s and %s" % (op, left, right)
        programs.append(("ops", name, title, operator_program(rng, op, left, right)))

    for i in range(counts["string"]):
        s = STRING_INPUTS[i % len(STRING_INPUTS)]
        methods = rng.sample(STRING_METHODS, 9)
        lines = [show("%s.%s" % (s, m)) for m in methods]
        lines += [show(f.format(s=s)) for f in rng.sample(STRING_EXPR_FORMS, 2)]
        programs.append(("string", "string_" + slug(s), "String methods on %s" % s, lines))

    for i in range(counts["list"]):
        l = LIST_INPUTS[i % len(LIST_INPUTS)]
        methods = rng.sample(LIST_METHODS, 9)
        lines = [show("%s.%s" % (l, m)) for m in methods]
        lines += [show(f.format(l=l)) for f in rng.sample(LIST_EXPR_FORMS, 2)]
        programs.append(("list", "list_" + slug(l), "List methods on %s" % l, lines))

    for i in range(counts["map"]):
        m = MAP_INPUTS[i % len(MAP_INPUTS)]
        methods = rng.sample(MAP_METHODS, 8)
        lines = [show("%s.%s" % (m, x)) for x in methods]
        lines += [show(f.format(m=m)) for f in rng.sample(MAP_EXPR_FORMS, 2)]
        programs.append(("map", "map_" + slug(m), "Map methods on %s" % m, lines))

    for n, (_, name, title, lines) in enumerate(programs, 1):
        path = os.path.join(outdir, "g%03d_%s.groovy" % (n, name))
        with open(path, "w", encoding="utf-8") as f:
            f.write("// generated (seed %d): %s\n" % (seed, title))
            f.write(HELPER)
            f.write("\n".join(lines) + "\n")
    return len(programs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("--seed", type=int, default=2421)
    args = parser.parse_args()
    counts = {"ops": 130, "string": 72, "list": 70, "map": 28}
    n = generate(args.outdir, args.seed, counts)
    print("wrote %d programs to %s" % (n, args.outdir))


if __name__ == "__main__":
    main()
