// Shared libraries in the interpreter (groovy.hpp load_global/load_classes,
// libraries.hpp): globals from vars/, classes from src/, the script as a
// value, pipeline templates; and what a pipeline asks for.
#include <catch2/catch.hpp>

#include "gantry/pipelines/groovy.hpp"
#include "gantry/pipelines/groovy_parser.hpp"
#include "gantry/pipelines/libraries.hpp"
#include "gantry/pipelines/loader.hpp"

using namespace gantry::pipelines;
using GValue = groovy::Value;

namespace {

// Steps: `echo` and `sh` record their first argument; everything else is unknown.
class RecordingHost : public groovy::Host {
 public:
  std::string out;
  bool has_step(std::string_view name) const override { return name == "echo" || name == "sh"; }
  bool step(groovy::Interpreter&, const groovy::StepCall& call, GValue& result) override {
    out += call.name + ": " + (call.args.empty() ? "" : groovy::to_string(call.args[0])) + "\n";
    result = GValue();
    return true;
  }
  void print(std::string_view text) override { out += text; }
  std::optional<GValue> global(std::string_view name) override {
    if (name == "env") {
      auto m = std::make_shared<groovy::Map>();
      m->put(GValue::string("NODE_NAME"), GValue::string("agent-1"));
      return GValue::of(std::move(m));
    }
    return std::nullopt;
  }
};

std::shared_ptr<const Node> parse(const std::string& text) {
  Diagnostics d;
  std::shared_ptr<const Node> tree(parse_groovy(text, d));
  INFO(text);
  REQUIRE_FALSE(d.has_errors());
  return tree;
}

// Runs `script` with the library files loaded; returns what it printed and echoed,
// and "error: ..." when it threw.
std::string run_with(const std::vector<std::pair<std::string, std::string>>& files,
                     const std::string& script) {
  RecordingHost host;
  groovy::Interpreter in(host, "WorkflowScript");
  for (const auto& [path, text] : files) {
    if (path.starts_with("vars/")) {
      in.load_global(path.substr(5, path.size() - 5 - 7), parse(text));
    } else {
      in.load_classes(parse(text));
    }
  }
  in.load(parse(script));
  if (!in.run_top_level()) host.out += "error: " + in.error_message() + "\n";
  return host.out;
}

}  // namespace

TEST_CASE("a vars/ global is called with maps and closures and defaults and has other methods") {
  std::string out = run_with({{"vars/deploy.groovy", R"(
import groovy.transform.Field
@Field int calls = 0
def call(Map cfg = [:], Closure body = null) {
  calls++
  sh "deploy ${cfg.env ?: 'dev'}"
  if (body) body()
  return "done-${calls}"
}
def status() { return "calls=${calls}" }
)"}},
                             R"(
println deploy()
println deploy(env: 'prod') { echo 'in body' }
println deploy.status()
println deploy.calls
deploy.nothing()
)");
  CHECK(out.starts_with(
      "sh: deploy dev\ndone-1\nsh: deploy prod\necho: in body\ndone-2\ncalls=2\n2\nerror: 6:"));
  CHECK(out.find("groovy.lang.MissingMethodException: No signature of method: "
                 "WorkflowScript.nothing() is applicable") != std::string::npos);
}

TEST_CASE("src/ classes get the script as steps by simple or qualified name") {
  std::string out = run_with({{"src/org/acme/Tool.groovy", R"(package org.acme
class Tool implements Serializable {
  def steps
  Tool(steps) { this.steps = steps }
  def run(String what) {
    steps.echo "run ${what} on ${steps.env.NODE_NAME}"
    steps.sh "make ${what}"
  }
}
)"},
                              {"vars/useTool.groovy", R"(import org.acme.Tool
def call() { new Tool(this).run('lib') }
)"}},
                             R"(import org.acme.Tool
new Tool(this).run('app')
new org.acme.Tool(this).run('qualified')
useTool()
)");
  CHECK(out ==
        "echo: run app on agent-1\nsh: make app\necho: run qualified on agent-1\nsh: make "
        "qualified\necho: run lib on agent-1\nsh: make lib\n");
}

TEST_CASE("a pipeline template's pipeline block is kept and its scope used afterwards") {
  RecordingHost host;
  groovy::Interpreter in(host, "WorkflowScript");
  in.load_global("standard", parse(R"(def call(Map config) {
  def greeting = "hi ${config.name}"
  pipeline {
    agent any
  }
}
)"));
  in.load(parse("standard(name: 'app')\n"));
  REQUIRE(in.run_top_level());
  CHECK(in.template_captured());
  Diagnostics d;
  NodePtr expr = parse_groovy("\"${greeting} / ${config.name}\"", d);
  REQUIRE(expr->items.size() == 1);
  GValue v;
  REQUIRE(in.evaluate(*expr->items[0]->lhs, v));
  CHECK(groovy::to_string(v) == "hi app / app");
}

TEST_CASE("library requests are found in every form a Jenkinsfile writes them") {
  Diagnostics d;
  NodePtr root = parse_groovy(R"(@Library(['a@1', 'b']) _
@Library('c@feature/x') import org.c.Thing
@Library(value = 'd', changelog = false) _
pipeline {
  agent any
  libraries { lib('e@2') }
  stages {
    stage('S') {
      steps {
        library 'f@3'
        library identifier: 'a@9', retriever: modernSCM([$class: 'GitSCMSource'])
        script { library "${params.LIB}" }
      }
    }
  }
}
)",
                              d);
  REQUIRE_FALSE(d.has_errors());
  LibraryRequests r = find_library_requests(*root);
  std::vector<std::string> got;
  for (const auto& w : r.wanted) got.push_back(w.name + "@" + w.version);
  CHECK(got == std::vector<std::string>{"a@1", "b@", "c@feature/x", "d@", "e@2", "f@3"});
  CHECK(r.dynamic.size() == 1);
}

TEST_CASE("a template in a library gives a Jenkinsfile without pipeline its pipeline") {
  LibraryBundle libs{{"acme",
                      "main",
                      "0123456789abcdef0123456789abcdef01234567",
                      {{"vars/std.groovy", R"(def call(Map c) {
  pipeline {
    agent any
    stages { stage('Build') { steps { echo "x ${c.name}" } } }
  }
}
)"}}}};
  LoadResult without =
      load_pipeline("@Library('acme') _\nstd(name: 'a')\n", SourceFormat::Jenkinsfile);
  CHECK_FALSE(without.pipeline);
  LoadResult with =
      load_pipeline("@Library('acme') _\nstd(name: 'a')\n", SourceFormat::Jenkinsfile, &libs);
  REQUIRE(with.pipeline);
  CHECK(with.template_from == "acme:vars/std.groovy");
  CHECK(with.diagnostics.warning_count() == 0);
  // The bundle survives its JSON.
  LibraryBundle back;
  std::string error;
  REQUIRE(decode_libraries(encode_libraries(libs), back, error));
  REQUIRE(back.size() == 1);
  CHECK(back[0].files[0].path == "vars/std.groovy");
  CHECK(library_globals(back) == std::set<std::string>{"std"});
}
