#include "gantry/pipelines/yaml_frontend.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gantry/pipelines/groovy_parser.hpp"

using namespace gantry::pipelines;
namespace fs = std::filesystem;

#ifndef GANTRY_SOURCE_DIR
#define GANTRY_SOURCE_DIR "."
#endif

namespace {

const fs::path kPairs = fs::path(GANTRY_SOURCE_DIR) / "tests/fixtures/pipelines/pairs";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The tree without positions (and without `parens`, which only records how a
// call was written): two trees that dump the same mean the same.
void dump(const Node& n, int indent, std::string& out) {
  out.append(static_cast<size_t>(indent) * 2, ' ');
  out += kind_name(n.kind);
  if (!n.text.empty() || n.kind == NodeKind::String) out += " [" + n.text + "]";
  if (!n.type_name.empty()) out += " type=" + n.type_name;
  for (const auto& p : n.params) out += " param=" + p;
  if (n.grouped) out += " grouped";
  if (n.safe) out += " safe";
  if (n.spread) out += " spread";
  if (n.postfix) out += " postfix";
  if (n.big) out += " big";
  out += '\n';
  auto child = [&](const char* label, const NodePtr& c) {
    if (!c) return;
    out.append(static_cast<size_t>(indent + 1) * 2, ' ');
    out += label;
    out += ":\n";
    dump(*c, indent + 2, out);
  };
  child("lhs", n.lhs);
  child("rhs", n.rhs);
  child("third", n.third);
  for (const auto& item : n.items) child("item", item);
  for (const auto& arg : n.named) {
    out.append(static_cast<size_t>(indent + 1) * 2, ' ');
    out += "named " + arg.name + ":\n";
    if (arg.value) dump(*arg.value, indent + 2, out);
  }
  child("block", n.block);
}

std::string dump(const Node& n) {
  std::string out;
  dump(n, 0, out);
  return out;
}

// The first line where two dumps differ, with the lines before it for context.
std::string first_difference(const std::string& a, const std::string& b) {
  std::istringstream sa(a), sb(b);
  std::string la, lb;
  std::vector<std::string> context;
  int line = 1;
  while (true) {
    bool ga = static_cast<bool>(std::getline(sa, la));
    bool gb = static_cast<bool>(std::getline(sb, lb));
    if (!ga && !gb) return "identical";
    if (!ga) la = "<end>";
    if (!gb) lb = "<end>";
    if (la != lb) {
      std::string out = "dump line " + std::to_string(line) + ":\n";
      for (const auto& c : context) out += "  " + c + "\n";
      return out + "groovy: " + la + "\nyaml:   " + lb + "\n";
    }
    context.push_back(la);
    if (context.size() > 6) context.erase(context.begin());
    ++line;
  }
}

struct Parsed {
  NodePtr root;
  Diagnostics diags;
  std::string source;
};

Parsed yaml(std::string source) {
  Parsed p;
  p.source = std::move(source);
  p.root = parse_yaml_pipeline(p.source, p.diags);
  return p;
}

std::string errors(const Parsed& p) {
  return render_all(p.diags, "p.gantry.yml", p.source);
}

// pipeline { <items> }: the statements of the pipeline closure.
const std::vector<NodePtr>& sections(const Parsed& p) {
  REQUIRE(p.root);
  REQUIRE(p.root->items.size() == 1);
  const Node& call = *p.root->items[0]->lhs;
  REQUIRE(call.text == "pipeline");
  return call.block->items;
}

const Node& section(const Parsed& p, const std::string& name) {
  for (const auto& s : sections(p)) {
    if (s->lhs && s->lhs->text == name) return *s->lhs;
  }
  FAIL("no section " << name);
  throw 0;
}

// The first step of the first stage.
const Node& first_step(const Parsed& p) {
  const Node& stage = *section(p, "stages").block->items.at(0)->lhs;
  for (const auto& s : stage.block->items) {
    if (s->lhs->text == "steps") return *s->lhs->block->items.at(0)->lhs;
  }
  FAIL("no steps");
  throw 0;
}

}  // namespace

TEST_CASE("yaml: each pair of fixtures gives the same tree as its Jenkinsfile twin") {
  std::vector<fs::path> ymls;
  for (const auto& entry : fs::directory_iterator(kPairs)) {
    std::string name = entry.path().filename().string();
    if (name.size() > 11 && name.substr(name.size() - 11) == ".gantry.yml")
      ymls.push_back(entry.path());
  }
  std::sort(ymls.begin(), ymls.end());
  REQUIRE(ymls.size() >= 12);
  for (const fs::path& yml : ymls) {
    std::string stem = yml.filename().string();
    stem = stem.substr(0, stem.size() - 11);
    fs::path groovy = kPairs / (stem + ".groovy");
    INFO("pair " << stem);
    REQUIRE(fs::exists(groovy));

    std::string groovy_src = read_file(groovy);
    Diagnostics groovy_diags;
    NodePtr groovy_tree = parse_groovy(groovy_src, groovy_diags);
    INFO(render_all(groovy_diags, groovy.filename().string(), groovy_src));
    REQUIRE(groovy_diags.all().empty());

    Parsed y = yaml(read_file(yml));
    INFO(errors(y));
    REQUIRE(y.diags.all().empty());

    // Compared through the first difference: the whole dumps are too long to read.
    CHECK(first_difference(dump(*groovy_tree), dump(*y.root)) == "identical");
  }
}

TEST_CASE("yaml: every Jenkinsfile fixture has a YAML twin") {
  for (const auto& entry : fs::directory_iterator(kPairs)) {
    if (entry.path().extension() != ".groovy") continue;
    fs::path yml = entry.path();
    yml.replace_extension(".gantry.yml");
    INFO(entry.path());
    CHECK(fs::exists(yml));
  }
}

TEST_CASE("yaml: malformed YAML is one error at yaml-cpp's line and column") {
  Parsed p = yaml("agent: any\nstages:\n  - stage: Build\n    steps: [{sh: make}\n");
  REQUIRE(p.diags.error_count() == 1);
  CHECK(p.root->items.empty());
  CHECK(errors(p) == "p.gantry.yml:5:1: error: invalid YAML: end of sequence flow not found\n");

  Parsed colon = yaml("agent: any\nstages: a: b\n");
  REQUIRE(colon.diags.error_count() == 1);
  CHECK(errors(colon) ==
        "p.gantry.yml:2:10: error: invalid YAML: illegal map value (a plain value cannot contain "
        "': '; quote it)\n"
        "stages: a: b\n"
        "         ^\n");

  Parsed tabs = yaml("agent: any\nstages:\n\t- stage: x\n");
  REQUIRE(tabs.diags.error_count() == 1);
  CHECK_THAT(tabs.diags.all()[0].message, Catch::Contains("spaces, not tabs"));
}

TEST_CASE("yaml: the document must be one map") {
  Parsed empty = yaml("");
  REQUIRE(empty.diags.error_count() == 1);
  CHECK_THAT(empty.diags.all()[0].message, Catch::Contains("empty"));
  CHECK(empty.root->items.empty());

  Parsed list = yaml("- agent: any\n");
  REQUIRE(list.diags.error_count() == 1);
  CHECK(list.diags.all()[0].pos == Pos{1, 1});
  CHECK_THAT(list.diags.all()[0].message, Catch::Contains("not a list"));

  Parsed two = yaml("agent: any\n---\nagent: none\n");
  REQUIRE(two.diags.error_count() == 1);
  CHECK(two.diags.all()[0].pos == Pos{3, 1});
  CHECK(sections(two).size() == 1);  // the first document is still translated
}

TEST_CASE("yaml: structural errors name the construct and where it goes wrong") {
  SECTION("a stage that is not a map") {
    Parsed p = yaml("agent: any\nstages:\n  - Build\n  - Test\n");
    REQUIRE(p.diags.error_count() == 2);
    CHECK(p.diags.all()[0].pos == Pos{3, 5});
    CHECK(p.diags.all()[0].message ==
          "a stage is a map such as `- stage: Build` with `steps:` beside it, not the value "
          "'Build'");
  }
  SECTION("stages that are not a list") {
    Parsed p = yaml("agent: any\nstages:\n  Build:\n    steps: []\n");
    REQUIRE(p.diags.error_count() == 1);
    CHECK(p.diags.all()[0].pos == Pos{3, 3});
    CHECK_THAT(p.diags.all()[0].message, Catch::StartsWith("`stages` is a list of stages"));
    // The section is still there, so the model builder does not add "missing stages".
    CHECK(section(p, "stages").block->items.empty());
  }
  SECTION("a stage without a name") {
    Parsed p = yaml("agent: any\nstages:\n  - steps: [{sh: make}]\n");
    REQUIRE(p.diags.error_count() == 1);
    CHECK(p.diags.all()[0].pos == Pos{3, 5});
    CHECK(p.diags.all()[0].message == "this stage has no name: add `stage: NAME` as its first key");
  }
  SECTION("sections nested under the stage name") {
    Parsed p = yaml("agent: any\nstages:\n  - stage:\n      steps: [{sh: make}]\n");
    REQUIRE(p.diags.error_count() == 1);
    CHECK(p.diags.all()[0].pos == Pos{4, 7});
    CHECK_THAT(p.diags.all()[0].message, Catch::Contains("go beside `stage:`"));
  }
  SECTION("a shell command where a step name goes") {
    Parsed p = yaml("agent: any\nstages:\n  - stage: B\n    steps:\n      - make test\n");
    REQUIRE(p.diags.error_count() == 1);
    CHECK(p.diags.all()[0].pos == Pos{5, 9});
    CHECK(p.diags.all()[0].message ==
          "'make test' is not a step name; to run a shell command write `- sh: make test`");
  }
  SECTION("a step map with two keys") {
    Parsed p = yaml(
        "agent: any\nstages:\n  - stage: B\n    steps:\n      - dir: sub\n        steps: []\n");
    REQUIRE(p.diags.error_count() == 1);
    CHECK(p.diags.all()[0].pos == Pos{5, 9});
    CHECK_THAT(p.diags.all()[0].message,
               Catch::Contains("keys dir, steps") && Catch::Contains("{path: sub, steps: [...]}"));
  }
  SECTION("post conditions take lists of steps") {
    Parsed p = yaml("agent: any\nstages: []\npost:\n  always: {sh: x}\n  failure: [x y]\n");
    REQUIRE(p.diags.error_count() == 2);
    CHECK(p.diags.all()[0].pos == Pos{4, 11});
    CHECK_THAT(p.diags.all()[0].message, Catch::StartsWith("`always` is a list of steps"));
  }
  SECTION("environment is a map") {
    Parsed p = yaml("agent: any\nenvironment: [A=1]\nstages: []\n");
    REQUIRE(p.diags.error_count() == 1);
    CHECK(p.diags.all()[0].pos == Pos{2, 14});
  }
}

TEST_CASE("yaml: unknown keys are passed through at their position") {
  Parsed p = yaml(
      "agent: any\n"
      "properties: [foo]\n"
      "stages:\n"
      "  - stage: Build\n"
      "    banana: {ripe: true}\n"
      "    steps:\n"
      "      - slackSend: {channel: '#ci'}\n");
  INFO(errors(p));
  REQUIRE(p.diags.all().empty());
  const Node& properties = section(p, "properties");
  CHECK(properties.pos == Pos{2, 1});
  REQUIRE(properties.items.size() == 1);
  CHECK(properties.items[0]->text == "foo");

  const Node& stage = *section(p, "stages").block->items.at(0)->lhs;
  const Node& banana = *stage.block->items.at(0)->lhs;
  CHECK(banana.text == "banana");
  CHECK(banana.pos == Pos{5, 5});
  REQUIRE(banana.block);
  CHECK(banana.block->items.at(0)->lhs->text == "ripe");

  const Node& slack = first_step(p);
  CHECK(slack.text == "slackSend");
  CHECK(slack.pos == Pos{7, 9});
  REQUIRE(slack.named.size() == 1);
  CHECK(slack.named[0].name == "channel");
  CHECK(slack.named[0].pos == Pos{7, 21});
  CHECK(slack.named[0].value->pos == Pos{7, 30});
}

TEST_CASE("yaml: scalars keep YAML's types except yes/no/on/off") {
  Parsed p = yaml(
      "agent: any\n"
      "x: [3, -2, 1.5, 2e3, true, false, yes, no, on, off, ~, null, '3', \"true\", 007, 0x1F, "
      "!!str 5]\n");
  INFO(errors(p));
  REQUIRE(p.diags.all().empty());
  const Node& x = section(p, "x");
  std::vector<std::pair<NodeKind, std::string>> want = {
      {NodeKind::Int, "3"},       {NodeKind::Int, "-2"},      {NodeKind::Float, "1.5"},
      {NodeKind::Float, "2e3"},   {NodeKind::Bool, "true"},   {NodeKind::Bool, "false"},
      {NodeKind::String, "yes"},  {NodeKind::String, "no"},   {NodeKind::String, "on"},
      {NodeKind::String, "off"},  {NodeKind::Null, "null"},   {NodeKind::Null, "null"},
      {NodeKind::String, "3"},    {NodeKind::String, "true"}, {NodeKind::String, "007"},
      {NodeKind::String, "0x1F"}, {NodeKind::String, "5"},
  };
  REQUIRE(x.items.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("item " << i);
    CHECK(x.items[i]->kind == want[i].first);
    CHECK(x.items[i]->text == want[i].second);
  }

  Parsed big = yaml("agent: any\nx: 99999999999999999999\n");
  REQUIRE(big.diags.error_count() == 1);
  CHECK(big.diags.all()[0].pos == Pos{2, 4});
  CHECK(section(big, "x").items.at(0)->big);
}

TEST_CASE("yaml: strings interpolate like Groovy's double quotes, single quotes stay literal") {
  Parsed p = yaml(
      "agent: any\n"
      "a: \"v${env.X}\"\n"
      "b: 'v${env.X}'\n"
      "c: v$NAME.x\n"
      "d: cost \\$5\n");
  INFO(errors(p));
  REQUIRE(p.diags.all().empty());
  const Node& a = *section(p, "a").items.at(0);
  REQUIRE(a.kind == NodeKind::GString);
  REQUIRE(a.items.size() == 2);
  CHECK(a.items[1]->kind == NodeKind::Property);
  CHECK(a.items[1]->lhs->pos == Pos{2, 8});  // `env` inside the double-quoted value
  CHECK(section(p, "b").items.at(0)->kind == NodeKind::String);
  CHECK(section(p, "b").items.at(0)->text == "v${env.X}");
  CHECK(section(p, "c").items.at(0)->kind == NodeKind::GString);
  CHECK(section(p, "d").items.at(0)->kind == NodeKind::String);
  CHECK(section(p, "d").items.at(0)->text == "cost $5");

  Parsed bad = yaml("agent: any\nx: \"a ${oops\"\n");
  REQUIRE(bad.diags.error_count() == 1);
  CHECK(bad.diags.all()[0].pos == Pos{2, 7});
}

TEST_CASE("yaml: Groovy in script and expression blocks keeps its positions in the file") {
  std::string src =
      "agent: any\n"
      "stages:\n"
      "  - stage: B\n"
      "    when:\n"
      "      expression: \"params.DRY == false\"\n"
      "    steps:\n"
      "      - script: |\n"
      "          if (env.X == 'y') {\n"
      "            echo 'z'\n"
      "          }\n";
  Parsed p = yaml(src);
  INFO(errors(p));
  REQUIRE(p.diags.all().empty());
  const Node& stage = *section(p, "stages").block->items.at(0)->lhs;
  const Node& when = *stage.block->items.at(0)->lhs;
  const Node& expression = *when.block->items.at(0)->lhs;
  REQUIRE(expression.block->items.size() == 1);
  const Node& binary = *expression.block->items[0]->lhs;
  CHECK(binary.kind == NodeKind::Binary);
  CHECK(binary.lhs->pos == Pos{5, 27});  // DRY in params.DRY
  CHECK(binary.rhs->pos == Pos{5, 34});  // false

  const Node& script = first_step(p);
  REQUIRE(script.text == "script");
  REQUIRE(script.block->items.size() == 1);
  const Node& if_node = *script.block->items[0];
  CHECK(if_node.kind == NodeKind::If);
  CHECK(if_node.pos == Pos{8, 11});
  const Node& echo = *if_node.rhs->items.at(0)->lhs;
  CHECK(echo.text == "echo");
  CHECK(echo.pos == Pos{9, 13});
  CHECK(echo.items.at(0)->pos == Pos{9, 18});

  // A syntax error inside the block is reported at its place in the YAML file.
  Parsed broken = yaml(
      "agent: any\n"
      "stages:\n"
      "  - stage: B\n"
      "    steps:\n"
      "      - script: |\n"
      "          echo 'a'\n"
      "          if (x == ) { }\n");
  REQUIRE(broken.diags.error_count() >= 1);
  CHECK(render(broken.diags.all()[0], "p.gantry.yml", broken.source) ==
        "p.gantry.yml:7:20: error: unexpected ')'\n"
        "          if (x == ) { }\n"
        "                   ^\n");
}

TEST_CASE("yaml: merge keys and anchors") {
  Parsed p = yaml(
      ".base: &base {agent: any, environment: {A: '1'}}\n"
      "<<: *base\n"
      "environment: {B: '2'}\n"
      "stages: []\n");
  INFO(errors(p));
  REQUIRE(p.diags.all().empty());
  const auto& s = sections(p);
  REQUIRE(s.size() == 3);  // agent from the merge, environment and stages from the file
  CHECK(s[0]->lhs->text == "agent");
  CHECK(s[1]->lhs->text == "environment");
  CHECK(s[1]->lhs->block->items.at(0)->lhs->lhs->text == "B");
}

TEST_CASE("yaml: hostile documents end in an error, never a crash") {
  SECTION("nesting deeper than the translator's limit") {
    std::string src = "agent: any\nstages:\n  - stage: s\n    steps:\n      - echo: ";
    for (int i = 0; i < 300; ++i) src += "[";
    for (int i = 0; i < 300; ++i) src += "]";
    src += "\n";
    Parsed p = yaml(src);
    REQUIRE(p.diags.error_count() == 1);
    CHECK(p.diags.all()[0].message == "nesting is too deep (more than 200 levels)");
  }
  SECTION("nesting deeper than yaml-cpp's limit") {
    Parsed p = yaml("x: " + std::string(100000, '[') + "\n");
    REQUIRE(p.diags.error_count() == 1);
    CHECK_THAT(p.diags.all()[0].message, Catch::Contains("too deep"));
  }
  SECTION("an alias that contains itself") {
    Parsed p = yaml("agent: any\nx: &a [*a]\nstages:\n  - &s {stage: A, stages: [*s]}\n");
    CHECK(p.diags.error_count() >= 1);
    Parsed m = yaml("agent: any\nstages: [{stage: A, matrix: &m {matrix: *m}}]\n");
    CHECK(m.diags.error_count() >= 1);
    Parsed w = yaml("agent: any\nstages: [{stage: A, when: &w {not: *w}}]\n");
    CHECK(w.diags.error_count() >= 1);
    Parsed s = yaml("agent: any\nstages: [{stage: A, steps: [&s {dir: {steps: [*s]}}]}]\n");
    CHECK(s.diags.error_count() >= 1);
    Parsed g = yaml("agent: any\nx: &g {y: *g}\nstages: []\n");
    CHECK(g.diags.error_count() >= 1);
    Parsed merge = yaml("agent: any\nx: &g {<<: *g}\nstages: []\n");
    CHECK(merge.diags.error_count() >= 1);
  }
  SECTION("aliases that expand exponentially") {
    std::string src = ".a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < 9; ++i) {
      std::string prev = "*a" + std::to_string(i - 1);
      src += ".a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
      for (int j = 0; j < 10; ++j) src += (j ? ", " : "") + prev;
      src += "]\n";
    }
    src += "agent: any\nstages:\n  - stage: s\n    steps:\n      - echo: *a8\n";
    Parsed p = yaml(src);
    REQUIRE(p.diags.error_count() >= 1);
    CHECK_THAT(p.diags.all().back().message, Catch::Contains("too large"));
  }
  SECTION("mutations of a real pipeline") {
    std::string base = read_file(kPairs / "09_block_steps.gantry.yml");
    REQUIRE(!base.empty());
    uint32_t seed = 12345;
    auto next = [&] {
      seed = seed * 1103515245u + 12345u;
      return (seed >> 8) % 1000003u;
    };
    const std::string alphabet = " \n\t-:[]{}'\"|>&*!#$,?";
    for (int round = 0; round < 500; ++round) {
      std::string src = base;
      for (int edits = 0; edits < 3; ++edits) {
        size_t at = next() % src.size();
        switch (next() % 3) {
          case 0:
            src.erase(at, 1 + next() % 8);
            break;
          case 1:
            src.insert(at, 1, alphabet[next() % alphabet.size()]);
            break;
          default:
            src.insert(at, src.substr(next() % src.size(), 1 + next() % 20));
            break;
        }
        if (src.empty()) src = "x";
      }
      Diagnostics diags;
      CHECK_NOTHROW(parse_yaml_pipeline(src, diags));
    }
  }
}
