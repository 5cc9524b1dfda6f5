#include "gantry/pipelines/expression.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "gantry/pipelines/groovy_parser.hpp"

using namespace gantry::pipelines;

namespace Catch {
template <>
struct StringMaker<Value> {
  static std::string convert(const Value& v) {
    return (v.is_string() ? "'" + v.to_string() + "'" : v.to_string()) +
           (v.is_double() ? " (double)" : "");
  }
};
}  // namespace Catch

namespace {

NodePtr parse_expr(std::string_view source) {
  Diagnostics diags;
  NodePtr node = parse_expression(source, Pos{1, 1}, diags);
  INFO(source);
  REQUIRE(diags.all().empty());
  REQUIRE(node);
  return node;
}

// A Jenkinsfile fragment whose first statement is a call with a closure
// (`expression { ... }`, `script { ... }`); keeps the tree alive.
struct Fragment {
  NodePtr file;
  const Node* call = nullptr;
  const Node& closure() const { return *call->block; }
};

Fragment parse_fragment(std::string_view source) {
  Diagnostics diags;
  Fragment f;
  f.file = parse_groovy(source, diags);
  INFO(source);
  REQUIRE(diags.all().empty());
  REQUIRE(!f.file->items.empty());
  const Node& stmt = *f.file->items.front();
  REQUIRE(stmt.kind == NodeKind::ExprStmt);
  REQUIRE(stmt.lhs->kind == NodeKind::Call);
  REQUIRE(stmt.lhs->block);
  f.call = stmt.lhs.get();
  return f;
}

EvalContext sample_context() {
  EvalContext ctx;
  ctx.env = {{"BRANCH_NAME", "release-1.2"}, {"EMPTY", ""}, {"COUNT", "42"}};
  ctx.params = {{"DEPLOY", Value(true)}, {"TARGET", Value("staging")}, {"RETRIES", Value(3)}};
  return ctx;
}

Value eval_ok(std::string_view source, const EvalContext& ctx = sample_context()) {
  NodePtr node = parse_expr(source);
  EvalResult r = evaluate(*node, ctx);
  if (const auto* e = std::get_if<EvalError>(&r)) {
    FAIL(source << ": unexpected error at " << e->pos.line << ":" << e->pos.col << ": "
                << e->message);
  }
  return std::get<Value>(std::move(r));
}

// "LINE:COL: message"
std::string eval_err(std::string_view source, const EvalContext& ctx = sample_context()) {
  NodePtr node = parse_expr(source);
  EvalResult r = evaluate(*node, ctx);
  INFO(source);
  REQUIRE(std::holds_alternative<EvalError>(r));
  const auto& e = std::get<EvalError>(r);
  return std::to_string(e.pos.line) + ":" + std::to_string(e.pos.col) + ": " + e.message;
}

bool condition(std::string_view source, const EvalContext& ctx = sample_context()) {
  Fragment f = parse_fragment(source);
  EvalResult r = evaluate_condition(f.closure(), ctx);
  if (const auto* e = std::get_if<EvalError>(&r)) {
    FAIL(source << ": unexpected error at " << e->pos.line << ":" << e->pos.col << ": "
                << e->message);
  }
  const Value& v = std::get<Value>(r);
  REQUIRE(v.is_bool());
  return std::get<bool>(v.data);
}

std::vector<std::string> rendered(const Diagnostics& diags, Severity severity) {
  std::vector<std::string> out;
  for (const Diagnostic& d : diags.all()) {
    CHECK(d.severity == severity);
    out.push_back(std::to_string(d.pos.line) + ":" + std::to_string(d.pos.col) + ": " + d.message);
  }
  return out;
}

// Warnings for the closure of the fragment's first call.
std::vector<std::string> lint(std::string_view source, CodeKind kind) {
  Fragment f = parse_fragment(source);
  Diagnostics diags;
  size_t n = check_subset(f.closure(), diags, CheckMode::Lint, kind);
  CHECK(n == diags.warning_count());
  return rendered(diags, Severity::Warning);
}

std::vector<std::string> lint_expr(std::string_view source) {
  NodePtr node = parse_expr(source);
  Diagnostics diags;
  check_subset(*node, diags, CheckMode::Lint);
  return rendered(diags, Severity::Warning);
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("expression: values print as Groovy prints them") {
  CHECK(Value().to_string() == "null");
  CHECK(Value(true).to_string() == "true");
  CHECK(Value(false).to_string() == "false");
  CHECK(Value(42).to_string() == "42");
  CHECK(Value(-7).to_string() == "-7");
  CHECK(Value(1.5).to_string() == "1.5");
  CHECK(Value(2.0).to_string() == "2.0");
  CHECK(Value(-0.25).to_string() == "-0.25");
  CHECK(Value(123456.789).to_string() == "123456.789");
  CHECK(Value(0.001).to_string() == "0.001");
  CHECK(Value(1e7).to_string() == "1.0E7");
  CHECK(Value(1.5e10).to_string() == "1.5E10");
  CHECK(Value(1e-4).to_string() == "1.0E-4");
  CHECK(Value(0.0).to_string() == "0.0");
  CHECK(Value("text").to_string() == "text");
}

TEST_CASE("expression: Groovy truth") {
  CHECK_FALSE(Value().truthy());
  CHECK_FALSE(Value(false).truthy());
  CHECK_FALSE(Value(0).truthy());
  CHECK_FALSE(Value(0.0).truthy());
  CHECK_FALSE(Value("").truthy());
  CHECK(Value(true).truthy());
  CHECK(Value(-1).truthy());
  CHECK(Value(0.5).truthy());
  CHECK(Value("x").truthy());
  // As in Jenkins: any non-empty string is true, "false" and "0" included.
  CHECK(Value("false").truthy());
  CHECK(Value("0").truthy());
}

TEST_CASE("expression: literals") {
  CHECK(eval_ok("'single'") == Value("single"));
  CHECK(eval_ok("\"double\"") == Value("double"));
  CHECK(eval_ok("'''triple'''") == Value("triple"));
  CHECK(eval_ok("/slashy/") == Value("slashy"));
  CHECK(eval_ok("42") == Value(42));
  CHECK(eval_ok("-3") == Value(-3));
  CHECK(eval_ok("0x1F") == Value(31));
  CHECK(eval_ok("017") == Value(15));
  CHECK(eval_ok("1_000") == Value(1000));
  CHECK(eval_ok("9223372036854775807") == Value(INT64_MAX));
  CHECK(eval_ok("1.5") == Value(1.5));
  CHECK(eval_ok("2e3") == Value(2000.0));
  CHECK(eval_ok("true") == Value(true));
  CHECK(eval_ok("false") == Value(false));
  CHECK(eval_ok("null") == Value());
  CHECK(eval_ok("('grouped')") == Value("grouped"));
}

TEST_CASE("expression: == and != compare like Groovy") {
  CHECK(eval_ok("'a' == 'a'") == Value(true));
  CHECK(eval_ok("'a' == 'b'") == Value(false));
  CHECK(eval_ok("'a' != 'b'") == Value(true));
  CHECK(eval_ok("1 == 1") == Value(true));
  CHECK(eval_ok("1 == 1.0") == Value(true));
  CHECK(eval_ok("1.5 != 1") == Value(true));
  CHECK(eval_ok("null == null") == Value(true));
  CHECK(eval_ok("null == ''") == Value(false));
  CHECK(eval_ok("'x' != null") == Value(true));
  CHECK(eval_ok("true == true") == Value(true));
  CHECK(eval_ok("true == 'true'") == Value(false));
  CHECK(eval_ok("true == 1") == Value(false));
  // A number and a string are equal when the string is the number's text.
  CHECK(eval_ok("'42' == 42") == Value(true));
  CHECK(eval_ok("env.COUNT == 42") == Value(true));
  CHECK(eval_ok("42 == '042'") == Value(false));
  CHECK(eval_ok("'1.5' == 1.5") == Value(true));
  CHECK(groovy_equals(Value(3), Value(3.0)));
  CHECK_FALSE(groovy_equals(Value(), Value(false)));
}

TEST_CASE("expression: &&, || and ! use Groovy truth and short-circuit") {
  CHECK(eval_ok("true && false") == Value(false));
  CHECK(eval_ok("true || false") == Value(true));
  CHECK(eval_ok("!true") == Value(false));
  CHECK(eval_ok("!''") == Value(true));
  CHECK(eval_ok("!!'x'") == Value(true));
  CHECK(eval_ok("'x' && 1") == Value(true));  // always a boolean
  CHECK(eval_ok("null || 0") == Value(false));
  CHECK(eval_ok("!(true && (false || true))") == Value(false));
  CHECK(eval_ok("true || false && false") == Value(true));  // && binds tighter
  // The right side is not evaluated when the left decides.
  CHECK(eval_ok("false && NO_SUCH_VARIABLE") == Value(false));
  CHECK(eval_ok("true || NO_SUCH_VARIABLE") == Value(true));
  CHECK(eval_err("true && NO_SUCH_VARIABLE") == "1:9: unknown variable NO_SUCH_VARIABLE");
}

TEST_CASE("expression: env, params and currentBuild") {
  EvalContext ctx = sample_context();
  CHECK(eval_ok("env.BRANCH_NAME", ctx) == Value("release-1.2"));
  CHECK(eval_ok("env.EMPTY", ctx) == Value(""));
  CHECK(eval_ok("env.UNSET", ctx) == Value());
  CHECK(eval_ok("params.DEPLOY", ctx) == Value(true));
  CHECK(eval_ok("params.RETRIES", ctx) == Value(3));
  CHECK(eval_ok("params.UNSET", ctx) == Value());
  CHECK(eval_ok("env?.BRANCH_NAME", ctx) == Value("release-1.2"));

  CHECK(eval_ok("currentBuild.result", ctx) == Value());
  CHECK(eval_ok("currentBuild.currentResult", ctx) == Value("SUCCESS"));
  CHECK(eval_ok("currentBuild.result == null || currentBuild.result == 'SUCCESS'", ctx) ==
        Value(true));
  ctx.current_result = "UNSTABLE";
  CHECK(eval_ok("currentBuild.result", ctx) == Value("UNSTABLE"));
  CHECK(eval_ok("currentBuild.currentResult", ctx) == Value("UNSTABLE"));
  CHECK(eval_ok("currentBuild.result == null || currentBuild.result == 'SUCCESS'", ctx) ==
        Value(false));
}

TEST_CASE("expression: bare names read env, then params") {
  EvalContext ctx = sample_context();
  CHECK(eval_ok("BRANCH_NAME", ctx) == Value("release-1.2"));
  CHECK(eval_ok("TARGET", ctx) == Value("staging"));
  ctx.env["TARGET"] = "from-env";
  CHECK(eval_ok("TARGET", ctx) == Value("from-env"));
  CHECK(eval_err("  MISSING == 'x'", ctx) == "1:3: unknown variable MISSING");
  CHECK(eval_err("env", ctx) == "1:1: cannot evaluate a bare env: not supported by Gantry");
}

TEST_CASE("expression: GStrings concatenate their evaluated parts") {
  CHECK(eval_ok("\"v${params.RETRIES}-${env.BRANCH_NAME}\"") == Value("v3-release-1.2"));
  CHECK(eval_ok("\"on $env.BRANCH_NAME\"") == Value("on release-1.2"));
  CHECK(eval_ok("\"$BRANCH_NAME/${params.DEPLOY}\"") == Value("release-1.2/true"));
  CHECK(eval_ok("\"[${env.UNSET}]\"") == Value("[null]"));
  CHECK(eval_ok("\"${1.5}|${currentBuild.currentResult}\"") == Value("1.5|SUCCESS"));
  // ${a; b} holds statements; the last one's value is interpolated.
  CHECK(eval_ok("\"${'ignored'; env.COUNT}\"") == Value("42"));
  CHECK(eval_ok("\"release-1.2\" == env.BRANCH_NAME") == Value(true));
  CHECK(eval_err("\"x${env.BRANCH_NAME.size()}\"") ==
        "1:5: cannot evaluate method calls on objects (env.BRANCH_NAME.size()): not supported "
        "by Gantry");
}

TEST_CASE("expression: =~ finds and ==~ matches the whole text") {
  CHECK(eval_ok("env.BRANCH_NAME =~ /release/") == Value(true));
  CHECK(eval_ok("env.BRANCH_NAME ==~ /release/") == Value(false));
  CHECK(eval_ok("env.BRANCH_NAME ==~ /(main|release-.*)/") == Value(true));
  CHECK(eval_ok("env.BRANCH_NAME ==~ /release-\\d+\\.\\d+/") == Value(true));
  CHECK(eval_ok("'feature/x' ==~ /(main|release-.*)/") == Value(false));
  CHECK(eval_ok("'abc' =~ /^b/") == Value(false));
  CHECK(eval_ok("'abc' =~ /c$/") == Value(true));
  CHECK(eval_ok("'abc' =~ 'a|z'") == Value(true));
  CHECK(eval_ok("'a\\nb' =~ /b/") == Value(true));
  CHECK(eval_ok("'MAIN' ==~ /(?i)main/") == Value(true));
  CHECK(eval_ok("'x' =~ ''") == Value(true));
  CHECK(eval_ok("42 ==~ /\\d+/") == Value(true));  // the text of a number
  CHECK(eval_ok("env.UNSET =~ /.*/") == Value(false));
  CHECK(eval_ok("env.UNSET ==~ /.*/") == Value(false));
  CHECK(eval_ok("!(env.BRANCH_NAME =~ /^feature/)") == Value(true));
}

TEST_CASE("expression: a bad regular expression is an error, never a crash") {
  CHECK(eval_err("env.BRANCH_NAME =~ '['") ==
        "1:20: invalid regular expression /[/: Unexpected character within '[...]' in regular "
        "expression");
  CHECK(eval_err("'x' ==~ '(a'").rfind("1:9: invalid regular expression /(a/: ", 0) == 0);
  // Compiled on its own first, so it cannot pair with the parentheses that
  // turn a find into a whole-text match.
  CHECK(eval_err("'ab' =~ 'a)(b'") ==
        "1:9: invalid regular expression /a)(b/: Mismatched '(' and ')' in regular expression");
  CHECK(eval_err("'aa' ==~ /(a)\\1/") ==
        "1:10: invalid regular expression /(a)\\1/: back-references are not supported");
  CHECK(eval_err("'x' =~ 'a{99999999999999999999}'") ==
        "1:8: regular expression /a{99999999999999999999}/ is too long or too complex for Gantry");
  CHECK(eval_err("'x' =~ '(((a?){30}){30}){30}'") ==
        "1:8: regular expression /(((a?){30}){30}){30}/ is too long or too complex for Gantry");

  EvalContext ctx;
  ctx.env["BIG"] = std::string(kMaxRegexInput + 1, 'a');
  CHECK(eval_err("env.BIG =~ /b/", ctx) ==
        "1:1: text of 16385 bytes is too long to match against /b/");
  // Exponential for a backtracking matcher; linear here.
  ctx.env["BIG"] = std::string(kMaxRegexInput - 1, 'a');
  CHECK(eval_ok("env.BIG ==~ /(a+)+b/", ctx) == Value(false));
  CHECK(eval_ok("env.BIG =~ /(a|aa)*c/", ctx) == Value(false));
  CHECK(eval_ok("env.BIG ==~ /(a|b)*/", ctx) == Value(true));
}

TEST_CASE("expression: constructs outside the subset are errors at their position") {
  CHECK(eval_err("1 + 2") == "1:3: cannot evaluate arithmetic (1 + 2): not supported by Gantry");
  CHECK(eval_err("env.BRANCH_NAME.startsWith('r')") ==
        "1:1: cannot evaluate method calls on objects (env.BRANCH_NAME.startsWith(...)): not "
        "supported by Gantry");
  CHECK(eval_err("true ? 'a' : 'b'") ==
        "1:6: cannot evaluate conditional expressions (true ? 'a' : 'b'): not supported by "
        "Gantry");
  CHECK(eval_err("params['X']") ==
        "1:1: cannot evaluate indexing (params['X']): not supported by Gantry");
  CHECK(eval_err("currentBuild.number") ==
        "1:1: cannot evaluate currentBuild.number: not supported by Gantry");
  CHECK(eval_err("1 < 2") ==
        "1:3: cannot evaluate ordering comparisons (1 < 2): not supported by Gantry");
  Node big(NodeKind::Int, Pos{3, 4}, "99999999999999999999999");
  big.big = true;
  EvalResult r = evaluate(big, {});
  REQUIRE(std::holds_alternative<EvalError>(r));
  CHECK(std::get<EvalError>(r).pos == Pos{3, 4});
  CHECK(std::get<EvalError>(r).message == "integer 99999999999999999999999 is out of range");
}

TEST_CASE("expression: nesting is bounded") {
  // 1000 nested `!`, built directly (the parser has its own limit).
  NodePtr node = make_node(NodeKind::Bool, Pos{1, 1}, "true");
  for (int i = 0; i < 1000; ++i) {
    NodePtr bang = make_node(NodeKind::Unary, Pos{1, 1}, "!");
    bang->lhs = std::move(node);
    node = std::move(bang);
  }
  EvalResult r = evaluate(*node, {});
  REQUIRE(std::holds_alternative<EvalError>(r));
  CHECK(std::get<EvalError>(r).message == "expression nested too deeply (more than 200 levels)");

  Diagnostics diags;
  CHECK(check_subset(*node, diags, CheckMode::Lint) == 1);
  CHECK(diags.all().at(0).message == "expression nested too deeply (more than 200 levels)");

  // Within the limit it works.
  NodePtr shallow = make_node(NodeKind::Bool, Pos{1, 1}, "true");
  for (int i = 0; i < 100; ++i) {
    NodePtr bang = make_node(NodeKind::Unary, Pos{1, 1}, "!");
    bang->lhs = std::move(shallow);
    shallow = std::move(bang);
  }
  CHECK(std::get<Value>(evaluate(*shallow, {})) == Value(true));
}

TEST_CASE("expression: when-expression closures run statements") {
  CHECK(condition("expression { return params.DEPLOY }"));
  CHECK_FALSE(condition("expression { return env.UNSET }"));
  CHECK(condition("expression { env.BRANCH_NAME ==~ /release-.*/ }"));
  // The last statement's value is the result.
  CHECK_FALSE(condition("expression { 'x'; '' }"));
  CHECK(condition("expression {\n  ''\n  BRANCH_NAME\n}"));
  // A return ends the closure: what follows is not run.
  CHECK(condition("expression { return true; NO_SUCH_VARIABLE }"));
  CHECK_FALSE(condition("expression {\n  if (params.DEPLOY) {\n    return false\n  }\n  true\n}"));
  CHECK(condition(R"(expression {
    if (env.BRANCH_NAME == 'main') {
      return false
    } else if (env.BRANCH_NAME =~ /release/) {
      return true
    } else {
      return false
    }
  })"));
  // An if/else as the last statement yields its branch's value; no branch is null.
  CHECK(condition("expression { if (params.DEPLOY) { 'yes' } else { '' } }"));
  CHECK_FALSE(condition("expression { if (!params.DEPLOY) { 'yes' } }"));
  CHECK(condition("expression { if (params.DEPLOY) return true; return false }"));
  CHECK_FALSE(condition("expression { }"));
  CHECK_FALSE(condition("expression { return }"));

  // A lone expression works too.
  NodePtr expr = parse_expr("params.TARGET == 'staging'");
  CHECK(std::get<Value>(evaluate_condition(*expr, sample_context())) == Value(true));

  Fragment f = parse_fragment("expression {\n  def x = 1\n  return x\n}");
  EvalResult r = evaluate_condition(f.closure(), sample_context());
  REQUIRE(std::holds_alternative<EvalError>(r));
  CHECK(std::get<EvalError>(r).pos == Pos{2, 3});
  CHECK(std::get<EvalError>(r).message ==
        "cannot evaluate variable declarations (def x = ...): not supported by Gantry");
}

TEST_CASE("expression: common when-expression bodies are in the subset") {
  const char* bodies[] = {
      "expression { return params.DEPLOY }",
      "expression { params.DEPLOY }",
      "expression { return params.DEPLOY == true }",
      "expression { env.BRANCH_NAME ==~ /(main|release-.*)/ }",
      "expression { return env.BRANCH_NAME =~ /^release/ }",
      "expression { currentBuild.result == null || currentBuild.result == 'SUCCESS' }",
      "expression { currentBuild.currentResult == 'SUCCESS' }",
      "expression { BRANCH_NAME == 'release-1.2' && params.TARGET != 'prod' }",
      "expression { !(env.BRANCH_NAME ==~ /feature\\/.*/) }",
      "expression { \"${env.BRANCH_NAME}\" == 'release-1.2' }",
      "expression {\n  if (params.DEPLOY) {\n    return true\n  }\n  return false\n}",
  };
  for (const char* body : bodies) {
    INFO(body);
    CHECK(lint(body, CodeKind::Expression).empty());
    CHECK(condition(body));
  }
}

TEST_CASE("expression: check_subset names each construct outside the subset") {
  struct Case {
    const char* source;
    const char* warning;
  };
  const Case cases[] = {
      {"a + 1",
       "1:3: Gantry cannot run arithmetic (a + 1) in expressions; build strings with "
       "\"${...}\", or do this check inside the stage's sh step instead"},
      {"a * 2",
       "1:3: Gantry cannot run arithmetic (a * 2) in expressions; do this check inside "
       "the stage's sh step instead"},
      {"a >= 2",
       "1:3: Gantry cannot run ordering comparisons (a >= 2) in expressions; use ==, != "
       "or ==~, or do this check inside the stage's sh step instead"},
      {"a in ['x']",
       "1:3: Gantry cannot run the 'in' operator (a in ['x']) in expressions; use "
       "== with || or a ==~ /a|b/ match"},
      {"a | b",
       "1:3: Gantry cannot run the '|' operator (a | b) in expressions; do this check "
       "inside the stage's sh step instead"},
      {"-a",
       "1:1: Gantry cannot run the '-' operator (-a) in expressions; do this check inside "
       "the stage's sh step instead"},
      {"a ? 1 : 2",
       "1:3: Gantry cannot run conditional expressions (a ? 1 : 2) in expressions; "
       "use if/else"},
      {"a ?: 'x'",
       "1:3: Gantry cannot run the '?:' operator (a ?: 'x') in expressions; use "
       "if/else"},
      {"a as int",
       "1:3: Gantry cannot run casts (a as int) in expressions; compare the value as "
       "a string instead"},
      {"new Date()",
       "1:1: Gantry cannot run 'new' expressions (new Date(...)) in expressions; do "
       "this check inside the stage's sh step instead"},
      {"[1, 2]",
       "1:1: Gantry cannot run lists ([1, 2]) in expressions; do this check inside the "
       "stage's sh step instead"},
      {"[a: 1]",
       "1:1: Gantry cannot run maps ([a: 1]) in expressions; do this check inside the "
       "stage's sh step instead"},
      {"a == { -> true }",
       "1:6: Gantry cannot run closures ({ ... }) in expressions; do this check "
       "inside the stage's sh step instead"},
      {"this.&foo",
       "1:1: Gantry cannot run method references (this.&foo) in expressions; do "
       "this check inside the stage's sh step instead"},
      {"env['X']", "1:1: Gantry cannot run indexing (env['X']) in expressions; write env.NAME"},
      {"env.\"${a}\"",
       "1:1: Gantry cannot run computed property names (env.\"${...}\") in "
       "expressions; write the name: env.NAME"},
      {"currentBuild.number",
       "1:1: Gantry cannot run currentBuild.number in expressions; only "
       "currentBuild.result and currentBuild.currentResult are supported"},
      {"scm.branches",
       "1:1: Gantry cannot run properties of objects (scm.branches) in "
       "expressions; only env.NAME, params.NAME and currentBuild.result are "
       "supported"},
      {"params",
       "1:1: Gantry cannot run a bare params in expressions; read one of its "
       "properties, such as params.NAME"},
      {"env.X.trim() == 'a'",
       "1:1: Gantry cannot run method calls on objects (env.X.trim()) in "
       "expressions; do this check inside the stage's sh step instead"},
      {"fileExists('x')",
       "1:1: Gantry cannot run function calls (fileExists(...)) in "
       "expressions; do this check inside the stage's sh step instead"},
      {"sh('x')",
       "1:1: Gantry cannot run steps (sh(...)) in expressions; steps run only in "
       "steps and script blocks"},
      {"\"v${a + 1}\"",
       "1:7: Gantry cannot run arithmetic (a + 1) in expressions; build strings "
       "with \"${...}\", or do this check inside the stage's sh step instead"},
  };
  for (const Case& c : cases) {
    INFO(c.source);
    CHECK(lint_expr(c.source) == Lines{c.warning});
  }
}

TEST_CASE("expression: check_subset names each statement outside the subset") {
  CHECK(lint(R"(expression {
  def x = env.A
  for (i in [1, 2]) { echo i }
  while (true) { }
  try { a } catch (e) { b }
  switch (a) { case 'x': break }
  throw new Exception('no')
  x = 1
  def helper() { }
  { a }
  break
  ${x}
})",
             CodeKind::Expression) ==
        Lines{
            "2:3: Gantry cannot run variable declarations (def x = ...) in expressions; use "
            "env.NAME and params.NAME, or move this logic into a sh step",
            "3:3: Gantry cannot run loops (for (...)) in expressions; do this check inside the "
            "stage's sh step instead",
            "4:3: Gantry cannot run loops (while (...)) in expressions; do this check inside the "
            "stage's sh step instead",
            "5:3: Gantry cannot run try/catch (try { ... }) in expressions; use the catchError or "
            "warnError step",
            "6:3: Gantry cannot run switch statements (switch (...)) in expressions; use if/else",
            "7:3: Gantry cannot run throw (throw ...) in expressions; use the error step",
            "8:3: Gantry cannot run assignments (x = ...) in expressions; do this check inside "
            "the stage's sh step instead",
            "9:3: Gantry cannot run method definitions (def helper(...)) in expressions; do this "
            "check inside the stage's sh step instead",
            "10:3: Gantry cannot run bare code blocks ({ ... }) in expressions; remove the braces",
            "11:3: Gantry cannot run break in expressions; do this check inside the stage's sh "
            "step instead",
            "12:3: Gantry cannot run a bare ${...} (${x}) in expressions; put it inside a "
            "double-quoted string",
        });
  // Inside if/else and return, only the offending part is reported.
  CHECK(lint("expression {\n  if (a.b()) { return 1 + 1 } else { return c }\n}",
             CodeKind::Expression) ==
        Lines{
            "2:7: Gantry cannot run method calls on objects (a.b()) in expressions; do this "
            "check inside the stage's sh step instead",
            "2:25: Gantry cannot run arithmetic (1 + 1) in expressions; build strings with "
            "\"${...}\", or do this check inside the stage's sh step instead",
        });
}

TEST_CASE("expression: script blocks accept steps, the subset and currentBuild.result") {
  const char* script = R"(script {
  echo "Deploying ${params.TARGET}"
  sh 'make'
  sh(script: './test.sh', returnStatus: true, label: 'tests')
  if (env.BRANCH_NAME ==~ /release-.*/ && params.DEPLOY) {
    dir('deploy') {
      withCredentials([string(credentialsId: 'token', variable: 'TOKEN'),
                       usernamePassword(credentialsId: 'db', usernameVariable: 'U',
                                        passwordVariable: 'P')]) {
        sh './deploy.sh "$TOKEN"'
      }
    }
  } else {
    currentBuild.result = 'UNSTABLE'
    unstable 'not a release branch'
  }
  withEnv(['A=1', "B=${env.BRANCH_NAME}"]) { sh 'env' }
  timeout(time: 5, unit: 'MINUTES') {
    input message: 'Ship it?', ok: 'Yes', parameters: [booleanParam(name: 'X', defaultValue: true)]
  }
  retry(3) { checkout scm }
  catchError(buildResult: 'SUCCESS', stageResult: 'FAILURE') { error 'boom' }
  warnError('flaky') { sleep 1 }
  archiveArtifacts artifacts: 'out/**', fingerprint: true
  junit 'reports/*.xml'
  stash name: 'bin', includes: 'bin/**'
  unstash 'bin'
  writeFile file: 'v.txt', text: "${env.BRANCH_NAME}"
  deleteDir()
  script { echo 'nested' }
  return
})";
  CHECK(lint(script, CodeKind::Script).empty());

  // The step call itself can be passed too.
  Fragment f = parse_fragment(script);
  Diagnostics diags;
  CHECK(check_subset(*f.call, diags, CheckMode::Lint, CodeKind::Script) == 0);
}

TEST_CASE("expression: script blocks warn once per construct") {
  CHECK(lint(R"(script {
  def v = readJSON(file: 'package.json').version
  if (readJSON(file: 'package.json').version == '1.0') {
    foo 'bar'
  }
  dir('x') {
    notify(channel: '#ci')
    sh "echo ${env.X.toUpperCase()}"
  }
  env.VERSION = '1.0'
  currentBuild.displayName = "#${env.BUILD_NUMBER}"
  currentBuild.result = 'FAILED'
  currentBuild.result += 'x'
  if (sh(script: 'test -f x', returnStatus: true) == 0) { echo 'x' }
  echo 'a' + 'b'
  withEnv([[a: 1]]) { }
})",
             CodeKind::Script) ==
        Lines{
            "2:3: Gantry cannot run variable declarations (def v = ...) in script blocks; use "
            "env.NAME and params.NAME, or move this logic into a sh step",
            "3:7: Gantry cannot run method calls on objects (readJSON(...).version) in script "
            "blocks; move this logic into a sh step",
            "4:5: unknown step \"foo\": it will fail its stage when run",
            "7:5: unknown step \"notify\": it will fail its stage when run",
            "8:16: Gantry cannot run method calls on objects (env.X.toUpperCase()) in script "
            "blocks; move this logic into a sh step",
            "10:3: Gantry cannot run assignments to env (env.VERSION = ...) in script blocks; set "
            "variables with an environment directive or withEnv",
            "11:3: Gantry cannot run setting currentBuild.displayName (currentBuild.displayName = "
            "...) in script blocks; only currentBuild.result can be set",
            "12:25: 'FAILED' is not a build result: use SUCCESS, UNSTABLE, FAILURE, NOT_BUILT or "
            "ABORTED",
            "13:3: Gantry cannot run setting currentBuild.result (currentBuild.result += ...) in "
            "script blocks; write currentBuild.result = '...'",
            "14:7: Gantry cannot run step results used as values (sh(...)) in script blocks; call "
            "the step on its own line, or move this logic into a sh step",
            "15:12: Gantry cannot run arithmetic ('a' + 'b') in script blocks; build strings with "
            "\"${...}\", or move this logic into a sh step",
            "16:12: Gantry cannot run maps ([a: 1]) in script blocks; move this logic into a sh "
            "step",
        });
  // Unknown functions used as values are unknown steps too.
  CHECK(lint("script {\n  if (isUnix()) { sh 'x' }\n}", CodeKind::Script) ==
        Lines{"2:7: unknown step \"isUnix\": it will fail its stage when run"});
  // In a when expression, steps are not allowed at all.
  CHECK(lint("expression {\n  sh 'x'\n}", CodeKind::Expression) ==
        Lines{"2:3: Gantry cannot run steps (sh(...)) in expressions; steps run only in steps "
              "and script blocks"});
}

TEST_CASE("expression: Run mode reports errors instead of warnings") {
  Fragment f = parse_fragment("script {\n  sh 'ok'\n  foo()\n  x++\n}");
  Diagnostics diags;
  CHECK(check_subset(f.closure(), diags, CheckMode::Run, CodeKind::Script) == 2);
  CHECK(diags.error_count() == 2);
  CHECK(diags.warning_count() == 0);
  CHECK(rendered(diags, Severity::Error) ==
        Lines{
            "3:3: unknown step \"foo\": it will fail its stage when run",
            "4:4: Gantry cannot run the '++' operator (x++) in script blocks; move this logic "
            "into a sh step",
        });
}

TEST_CASE("expression: the known steps") {
  for (const char* step : {"sh",
                           "echo",
                           "error",
                           "sleep",
                           "dir",
                           "retry",
                           "timeout",
                           "withEnv",
                           "withCredentials",
                           "catchError",
                           "warnError",
                           "unstable",
                           "archiveArtifacts",
                           "junit",
                           "stash",
                           "unstash",
                           "checkout",
                           "deleteDir",
                           "writeFile",
                           "input",
                           "script"}) {
    CHECK(is_known_step(step));
  }
  CHECK_FALSE(is_known_step("bat"));
  CHECK_FALSE(is_known_step("readJSON"));
  CHECK_FALSE(is_known_step(""));
  CHECK_FALSE(is_known_step("SH"));
}

TEST_CASE("expression: an environment value the controller cannot know is left for the agent") {
  EvalContext ctx = sample_context();
  ctx.defer_unknown_env = true;
  const std::string path = eval_ok(R"("/opt/x/bin:${env.PATH}")", ctx).to_string();
  const std::string home = eval_ok(R"("$HOME/.m2:$BRANCH_NAME")", ctx).to_string();
  const std::string gone = eval_ok(R"("x-${env.NOPE}-$NOPE")", ctx).to_string();
  const std::map<std::string, std::string> agent = {{"PATH", "/usr/bin:/bin"}, {"HOME", "/h"}};
  CHECK(expand_agent_env(path, agent) == "/opt/x/bin:/usr/bin:/bin");
  CHECK(expand_agent_env(home, agent) == "/h/.m2:release-1.2");  // known here: resolved here
  CHECK(expand_agent_env(gone, agent) == "x-null-");  // env.X unset: null; a bare name: empty
  CHECK(expand_agent_env("plain text", agent) == "plain text");
  // Without the flag an unknown bare name is still an error, env.X still null.
  CHECK(eval_err("HOME") == "1:1: unknown variable HOME");
  CHECK(eval_ok("env.PATH").is_null());
}
