#include "gantry/pipelines/label_expr.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace gantry::pipelines;

namespace {

LabelExpr parse_ok(std::string_view text) {
  LabelExprResult r = parse_label_expr(text);
  if (const auto* e = std::get_if<LabelExprError>(&r)) {
    FAIL("unexpected error at " << e->offset << ": " << e->message);
  }
  return std::get<LabelExpr>(std::move(r));
}

LabelExprError parse_err(std::string_view text) {
  LabelExprResult r = parse_label_expr(text);
  REQUIRE(std::holds_alternative<LabelExprError>(r));
  return std::get<LabelExprError>(std::move(r));
}

std::string normal(std::string_view text) {
  return parse_ok(text).to_string();
}

bool matches(std::string_view text, const std::set<std::string>& labels) {
  return parse_ok(text).matches(labels);
}

}  // namespace

TEST_CASE("label_expr: a single label") {
  LabelExpr e = parse_ok("  linux  ");
  CHECK(e.op == LabelExpr::Op::Label);
  CHECK(e.label == "linux");
  CHECK(e.operands.empty());
  CHECK(e.matches({"linux", "x86"}));
  CHECK_FALSE(e.matches({"windows"}));
  CHECK_FALSE(e.matches({}));
}

TEST_CASE("label_expr: bare labels take dots, dashes, colons and slashes") {
  CHECK(parse_ok("docker-1.2_x:amd64/big").label == "docker-1.2_x:amd64/big");
  CHECK(parse_ok("caf\xc3\xa9").label == "caf\xc3\xa9");
  // `->` ends a bare label even without spaces.
  CHECK(normal("a->b") == "a -> b");
  CHECK(normal("a-b->c-d") == "a-b -> c-d");
  CHECK(normal("a&&b||!c") == "a && b || !c");
  CHECK(normal("a<->b") == "a <-> b");
}

TEST_CASE("label_expr: quoted labels and escapes") {
  CHECK(parse_ok("\"my label\"").label == "my label");
  CHECK(parse_ok(R"("say \"hi\" \\o/")").label == R"(say "hi" \o/)");
  CHECK(matches("\"my label\" && linux", {"my label", "linux"}));
  CHECK_FALSE(matches("\"my label\"", {"my", "label"}));
  // Quotes stay only where they are needed.
  CHECK(normal("\"linux\"") == "linux");
  CHECK(normal("\"my label\" || \"a&&b\"") == "\"my label\" || \"a&&b\"");
  CHECK(normal(R"("a\"b")") == R"("a\"b")");
  CHECK(normal(R"("a\\b")") == R"(a\b)");
}

TEST_CASE("label_expr: ! binds tighter than &&, && tighter than ||") {
  CHECK(normal("!a && b") == "!a && b");
  CHECK(normal("!(a && b)") == "!(a && b)");
  CHECK(normal("a || b && c") == "a || b && c");
  CHECK(normal("(a || b) && c") == "(a || b) && c");
  CHECK(normal("a && (b || c)") == "a && (b || c)");

  // a || (b && c)
  CHECK(matches("a || b && c", {"a"}));
  CHECK_FALSE(matches("(a || b) && c", {"a"}));
  // (!a) && b
  CHECK(matches("!a && b", {"b"}));
  CHECK_FALSE(matches("!a && b", {}));
  CHECK(matches("!(a && b)", {}));
}

TEST_CASE("label_expr: || binds tighter than -> and <->, and -> tighter than <->") {
  LabelExpr e = parse_ok("a || b -> c");
  REQUIRE(e.op == LabelExpr::Op::Implies);
  CHECK(e.operands[0].op == LabelExpr::Op::Or);
  CHECK(normal("a || b -> c") == "a || b -> c");
  CHECK(normal("a -> (b || c)") == "a -> b || c");

  LabelExpr f = parse_ok("a -> b <-> c");
  REQUIRE(f.op == LabelExpr::Op::Iff);
  CHECK(f.operands[0].op == LabelExpr::Op::Implies);
  CHECK(normal("a -> (b <-> c)") == "a -> (b <-> c)");
  CHECK(normal("a <-> b || c") == "a <-> b || c");
}

TEST_CASE("label_expr: implies and iff truth tables") {
  CHECK(matches("a -> b", {}));
  CHECK(matches("a -> b", {"b"}));
  CHECK(matches("a -> b", {"a", "b"}));
  CHECK_FALSE(matches("a -> b", {"a"}));
  CHECK(matches("a <-> b", {}));
  CHECK(matches("a <-> b", {"a", "b"}));
  CHECK_FALSE(matches("a <-> b", {"a"}));
  CHECK_FALSE(matches("a <-> b", {"b"}));
  // Left grouping: (a -> b) -> c
  CHECK(normal("a -> b -> c") == "a -> b -> c");
  CHECK(matches("a -> b -> c", {"a"}));
  CHECK_FALSE(matches("a -> b -> c", {}));
  CHECK(matches("a -> (b -> c)", {}));
}

TEST_CASE("label_expr: chains of && and || are one flat node") {
  LabelExpr e = parse_ok("a || b || (c || d) || e");
  REQUIRE(e.op == LabelExpr::Op::Or);
  CHECK(e.operands.size() == 5);
  CHECK(e.to_string() == "a || b || c || d || e");
  LabelExpr f = parse_ok("linux && !arm && docker");
  CHECK(f.operands.size() == 3);
  CHECK(f.matches({"linux", "docker", "x86"}));
  CHECK_FALSE(f.matches({"linux", "docker", "arm"}));

  // Long lists of agents stay shallow, far past the nesting bound.
  std::string many = "n0";
  for (int i = 1; i < 1000; ++i) many += " || n" + std::to_string(i);
  LabelExpr g = parse_ok(many);
  CHECK(g.operands.size() == 1000);
  CHECK(g.matches({"n999"}));
}

TEST_CASE("label_expr: to_string round-trips") {
  for (std::string text :
       {"linux && !arm", "(a || b) && c", "!!a", "!(a -> b)", "\"my label\" <-> (x || y && !z)",
        "a -> b -> (c -> d)", "(a <-> b) <-> c", "a && (b || c -> d)"}) {
    INFO(text);
    LabelExpr e = parse_ok(text);
    CHECK(parse_ok(e.to_string()) == e);
    CHECK(normal(e.to_string()) == e.to_string());
  }
}

TEST_CASE("label_expr: errors carry an offset and say what was expected") {
  struct Case {
    std::string text;
    size_t offset;
    std::string message;
  };
  const Case cases[] = {
      {"", 0, "expected a label, got the end of the expression"},
      {"   ", 3, "expected a label, got the end of the expression"},
      {"linux &&", 8, "expected a label, got the end of the expression"},
      {"a || && b", 5, "expected a label, got \"&&\""},
      {")", 0, "expected a label, got \")\""},
      {"a)", 1, "unexpected \")\" without a matching \"(\""},
      {"(a || b", 7,
       "expected \")\" to close the \"(\" at offset 0, got the end of the expression"},
      {"()", 1, "expected a label, got \")\""},
      {"a b", 2, "unexpected label \"b\"; expected an operator (&&, ||, ->, <->) or the end"},
      {"a (b)", 2, "unexpected \"(\"; expected an operator (&&, ||, ->, <->) or the end"},
      {"a !b", 2, "unexpected \"!\"; expected an operator (&&, ||, ->, <->) or the end"},
      {"a & b", 2, "unexpected \"&\"; did you mean \"&&\"?"},
      {"a | b", 2, "unexpected \"|\"; did you mean \"||\"?"},
      {"a <- b", 2, "unexpected \"<\"; did you mean \"<->\"?"},
      {"a > b", 2, "unexpected \">\"; did you mean \"->\"?"},
      {"a && \"b", 5, "unterminated quoted label; add a closing \""},
      {"\"\"", 0, "a quoted label cannot be empty"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    LabelExprError e = parse_err(c.text);
    CHECK(e.message == c.message);
    CHECK(e.offset == c.offset);
  }
}

TEST_CASE("label_expr: nesting is bounded") {
  std::string ok =
      std::string(kMaxLabelExprDepth - 1, '(') + "a" + std::string(kMaxLabelExprDepth - 1, ')');
  CHECK(parse_ok(ok).label == "a");

  std::string parens(100000, '(');
  LabelExprError e = parse_err(parens + "a" + std::string(100000, ')'));
  CHECK(e.message == "expression nests more than 100 levels deep");
  CHECK(e.offset == 100);

  CHECK(parse_err(std::string(100000, '!') + "a").message ==
        "expression nests more than 100 levels deep");
  CHECK(parse_ok(std::string(99, '!') + "a").op == LabelExpr::Op::Not);

  // Left-grouping chains build depth without any parentheses.
  std::string chain = "a";
  for (int i = 0; i < 200; ++i) chain += " -> a";
  CHECK(parse_err(chain).message == "expression nests more than 100 levels deep");

  // Alternating operators inside parentheses.
  std::string mixed = "a";
  for (int i = 0; i < 200; ++i) mixed = "(" + mixed + (i % 2 ? " && b)" : " || b)");
  CHECK(parse_err(mixed).message == "expression nests more than 100 levels deep");
}
