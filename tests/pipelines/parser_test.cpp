// The Groovy lexer and parser on the forms real Jenkinsfiles use.
#include <catch2/catch.hpp>

#include "gantry/pipelines/groovy_parser.hpp"
#include "gantry/pipelines/loader.hpp"

using namespace gantry::pipelines;

namespace {

// Parses one expression and returns its node (failing the test on errors).
NodePtr expr(const std::string& text) {
  Diagnostics d;
  NodePtr n = parse_expression(text, Pos{1, 1}, d);
  INFO(text << "\n" << render_all(d, "expr", text));
  REQUIRE(n != nullptr);
  REQUIRE_FALSE(d.has_errors());
  return n;
}

std::string errors_of(const std::string& source) {
  Diagnostics d;
  parse_groovy(source, d);
  return render_all(d, "f", source);
}

const std::string kSteps = "pipeline { agent any\n stages { stage('s') { steps {\n";
const std::string kEnd = "\n} } } }\n";

}  // namespace

TEST_CASE("parser: string literal forms decode as Groovy does") {
  CHECK(expr("'a\\'b\\\\c'")->text == "a'b\\c");
  CHECK(expr("'''one\n'two'\nthree'''")->text == "one\n'two'\nthree");
  CHECK(expr("\"\"\"say \"hi\" \"\"\"")->text == "say \"hi\" ");
  CHECK(expr("/a\\/b\\d+/")->text == "a/b\\d+");
  CHECK(expr("$/x/y$$/$")->text == "x/y$");
  CHECK(expr("'\\u00e9'")->text == "\xC3\xA9");
  CHECK(expr("'a\\\nb'")->text == "ab");    // line continuation in a string
  CHECK(expr("'a\\\r\nb'")->text == "ab");  // ... with a CRLF line ending
}

TEST_CASE("parser: interpolation splits a GString into parts at their positions") {
  NodePtr g = expr("\"v${env.X}-$BUILD_ID.x \\${not}\"");
  REQUIRE(g->kind == NodeKind::GString);
  REQUIRE(g->items.size() == 5);
  CHECK(g->items[0]->text == "v");
  CHECK(g->items[1]->kind == NodeKind::Property);
  CHECK(g->items[1]->lhs->pos == Pos{1, 5});  // `env`, inside the ${
  CHECK(g->items[2]->text == "-");
  CHECK(to_source(*g->items[3]) == "BUILD_ID.x");
  CHECK(g->items[4]->text == " ${not}");
}

TEST_CASE("parser: operators follow Groovy's precedence") {
  CHECK(to_source(*expr("a || b && !c == d")) == "a || b && !c == d");
  NodePtr n = expr("a || b && c");
  CHECK(n->text == "||");
  CHECK(n->rhs->text == "&&");
  NodePtr neg = expr("-2 ** 2");  // -(2 ** 2), as in Groovy
  CHECK(neg->text == "-");
  CHECK(neg->lhs->text == "**");
  CHECK(expr("x ? y : z")->kind == NodeKind::Ternary);
  CHECK(expr("x ?: z")->kind == NodeKind::Ternary);
  CHECK(expr("s ==~ /a.*/")->text == "==~");
  CHECK(expr("[a: 1, 'b': [1, 2]]")->kind == NodeKind::Map);
  CHECK(expr("[:]")->kind == NodeKind::Map);
  CHECK(expr("list*.name")->spread);
  CHECK(expr("(String) x")->kind == NodeKind::Cast);
}

TEST_CASE("parser: statements of real Jenkinsfiles parse without errors") {
  const char* cases[] = {
      // Allman braces
      "pipeline\n{\n agent any\n stages\n {\n  stage('a')\n  {\n   steps\n   {\n    sh 'x'\n   }\n "
      " }\n }\n}\n",
      // def with a paren-less step call on the right
      "def props = readJSON file: 'package.json'\nString v = readFile 'VERSION'\nx = sh script: "
      "'ls', returnStdout: true\n",
      // CRLF line endings and a continuation outside a string
      "def a = 1 + \\\r\n  2\r\nif (a) {\r\n  echo 'y'\r\n}\r\n",
      // byte order mark
      "\xEF\xBB\xBFpipeline { agent any\n stages { stage('a') { steps { sh 'x' } } } }\n",
      // methods, classes, loops, try, switch, closures
      "@NonCPS\ndef f(String a, b = 2) { return a }\nclass C { def x = 1; def m() { } }\n"
      "for (int i = 0; i < 3; i++) { echo i }\nfor (x in [1, 2]) { echo x }\n"
      "try { sh 'x' } catch (Exception | Error e) { echo e.message } finally { echo 'f' }\n"
      "switch (env.X) { case 'a': echo 'a'; break\n default: echo 'd' }\n"
      "[1, 2].each { n -> echo \"${n}\" }\nlist.findAll { it > 1 }.collect { it * 2 }\n",
      // chains on new lines
      "def v = sh(script: 'git log', returnStdout: true)\n  .trim()\n  .split('\\n')\n",
  };
  for (const char* source : cases) {
    INFO(source);
    CHECK(errors_of(source).empty());
  }
}

TEST_CASE("parser: syntax errors name the line and column, and every one is reported") {
  CHECK(errors_of(kSteps + "sh 'unterminated" + kEnd) ==
        "f:3:4: error: unterminated string literal (use ''' or \"\"\" for multi-line strings)\n"
        "sh 'unterminated\n"
        "   ^\n");
  std::string two = errors_of("a = (1 +\nb = 09x\nc = [1, 2\n");
  CHECK(two.find("f:2:5: error: unexpected character 'x' in number") != std::string::npos);
  CHECK(two.find("expected ']' to close '[' opened at 3:5") != std::string::npos);
  CHECK(errors_of("x = 9223372036854775807").empty());
  CHECK(errors_of("x = 9223372036854775808").find("too big") != std::string::npos);
  CHECK(errors_of("x = -9223372036854775808").empty());  // INT64_MIN
  CHECK(errors_of("x = -9223372036854775809").find("too big") != std::string::npos);
  CHECK(errors_of("/* never closed").find("f:1:1: error: unterminated /* comment") == 0);
}

TEST_CASE("parser: a syntax error is reported alone, without follow-on structure errors") {
  LoadResult r = load_pipeline(kSteps + "sh 'oops" + kEnd, SourceFormat::Jenkinsfile);
  REQUIRE(r.diagnostics.error_count() == 1);
  CHECK(r.diagnostics.all()[0].message.find("unterminated string") != std::string::npos);
}
