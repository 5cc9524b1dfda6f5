// Shared libraries (issue 19, SPEC §4, docs/groovy.md "Shared libraries"): a
// library in a real git repository, configured under `libraries:`, loaded by
// `@Library`, its vars/ globals called as steps (with maps, closures and other
// methods), its src/ classes given the script as `steps`, its resources read
// by libraryResource, and a whole declarative pipeline template in vars/; the
// run pinned to the library's commit. Through a controller with two agents,
// and through `gantry run --library`.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "harness.hpp"

using namespace gantry::e2e;
using namespace std::chrono_literals;

namespace {

const std::map<std::string, std::string> kLibrary = {
    {"vars/greet.groovy", R"(def call(String name = 'world') {
  echo "Hello, ${name} from greet"
}

def loud(String name) {
  echo "HELLO ${name.toUpperCase()}"
}
)"},
    {"vars/buildApp.groovy", R"(import org.acme.Versions
import groovy.transform.Field

@Field String prefix = 'app'

def call(Map config = [:], Closure body = null) {
  def v = new Versions(this).next(config.version ?: '1.0')
  sh "echo building ${prefix}-${v}"
  if (body) {
    body()
  }
  return v
}
)"},
    {"vars/standardPipeline.groovy", R"(def call(Map config) {
  def greeting = config.greeting ?: 'hi'
  pipeline {
    agent { label config.label }
    stages {
      stage('Template Build') {
        steps {
          echo "template ${greeting} ${config.name}"
          greet(config.name)
        }
      }
      stage('Template Check') {
        when { expression { config.check } }
        steps {
          sh "echo checked ${config.name}"
        }
      }
      stage('Template Skip') {
        when { expression { !config.check } }
        steps {
          echo 'must not run'
        }
      }
    }
  }
}
)"},
    {"src/org/acme/Versions.groovy", R"(package org.acme

class Versions implements Serializable {
  def steps

  Versions(steps) {
    this.steps = steps
  }

  String next(String v) {
    def parts = v.tokenize('.')
    def bumped = "${parts[0]}.${parts[1].toInteger() + 1}"
    steps.echo "bumped ${v} to ${bumped} on ${steps.env.NODE_NAME}"
    return bumped
  }
}
)"},
    {"resources/org/acme/banner.txt", "ACME BUILD\n"},
    {"README.md", "not loaded\n"},
};

constexpr const char* kUsesLibrary = R"(@Library('acme@main') _
import org.acme.Versions

pipeline {
  agent none
  stages {
    stage('Lib') {
      agent { label 'build' }
      steps {
        greet 'team'
        greet()
        script {
          greet.loud('ops')
          def v = buildApp(version: '2.3') { echo 'inside body' }
          echo "version ${v}"
          def banner = libraryResource 'org/acme/banner.txt'
          echo "banner: ${banner.trim()}"
          def direct = new Versions(this).next('5.0')
          echo "direct ${direct}"
        }
      }
    }
    stage('Other') {
      agent { label 'deploy' }
      steps {
        greet 'second'
      }
    }
  }
}
)";

constexpr const char* kTemplate = R"(@Library('acme') _
standardPipeline(name: 'demo', label: 'build', check: true)
)";

std::string git_repo(const std::string& dir, const std::map<std::string, std::string>& files) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  for (const auto& [name, content] : files) {
    fs::path p = fs::path(dir) / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
  }
  std::string cmd = "cd '" + dir +
                    "' && git init -q -b main && git add -A && git -c user.name=Tess -c "
                    "user.email=t@example.com commit -qm lib";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("git failed in " + dir);
  return dir;
}

std::string head_of(const std::string& dir) {
  CliResult r = shell("git -C '" + dir + "' rev-parse HEAD");
  return r.out.substr(0, 40);
}

std::string library_config(const std::string& url) {
  return "libraries:\n  - name: acme\n    url: " + url +
         "\n    default_version: main\n    allowed_versions: [main]\n";
}

}  // namespace

TEST_CASE(
    "a shared library - vars and src and resources - runs through a controller with two agents") {
  TempDir lib_dir;
  const std::string lib = git_repo(lib_dir.path + "/acme", kLibrary);
  Cluster c(library_config(lib));
  c.start_controller();
  c.start_agent({"builder", {"build"}, 1});
  c.start_agent({"deployer", {"deploy"}, 1});
  c.wait_agents(2);
  int64_t id = c.trigger(c.make_repo({{"Jenkinsfile", kUsesLibrary}}));
  json run = c.wait_run(id, 60s);
  std::string log = c.stage_log(id, "Lib");
  std::string other = c.stage_log(id, "Other");
  INFO(run.dump() << "\n--- Lib\n" << log << "\n--- Other\n" << other);
  REQUIRE(run["status"] == "succeeded");
  // Pinned: the run shows the commit it loaded.
  REQUIRE(run["libraries"].size() == 1);
  CHECK(run["libraries"][0]["name"] == "acme");
  CHECK(run["libraries"][0]["version"] == "main");
  CHECK(run["libraries"][0]["commit"] == head_of(lib));
  CHECK(log.find("Hello, team from greet\n") != std::string::npos);
  CHECK(log.find("Hello, world from greet\n") != std::string::npos);
  CHECK(log.find("HELLO OPS\n") != std::string::npos);
  CHECK(log.find("bumped 2.3 to 2.4 on builder\n") != std::string::npos);
  CHECK(log.find("building app-2.4\n") != std::string::npos);
  CHECK(log.find("inside body\n") != std::string::npos);
  CHECK(log.find("version 2.4\n") != std::string::npos);
  CHECK(log.find("banner: ACME BUILD\n") != std::string::npos);
  CHECK(log.find("direct 5.1\n") != std::string::npos);
  CHECK(other.find("Hello, second from greet\n") != std::string::npos);
}

TEST_CASE("a declarative pipeline template in a library's vars runs as the Jenkinsfile") {
  TempDir lib_dir;
  const std::string lib = git_repo(lib_dir.path + "/acme", kLibrary);
  Cluster c(library_config(lib));
  c.start_controller();
  c.start_agent({"builder", {"build"}, 1});
  c.start_agent({"other", {"deploy"}, 1});
  c.wait_agents(2);
  int64_t id = c.trigger(c.make_repo({{"Jenkinsfile", kTemplate}}));
  json run = c.wait_run(id, 60s);
  std::string build = c.stage_log(id, "Template Build");
  std::string check = c.stage_log(id, "Template Check");
  INFO(run.dump() << "\n--- Build\n" << build << "\n--- Check\n" << check);
  REQUIRE(run["status"] == "succeeded");
  auto s = stages_by_id(run);
  // `agent { label config.label }`: the template's parameter, evaluated by the controller.
  CHECK(s["Template Build"]["agent"] == "builder");
  CHECK(s["Template Skip"]["status"] == "skipped");
  CHECK(build.find("template hi demo\n") != std::string::npos);
  CHECK(build.find("Hello, demo from greet\n") != std::string::npos);
  CHECK(check.find("checked demo\n") != std::string::npos);
}

TEST_CASE("a library that cannot be loaded fails the run with a clear message") {
  TempDir lib_dir;
  const std::string lib = git_repo(lib_dir.path + "/acme", kLibrary);
  Cluster c(library_config(lib));
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  const std::string steps =
      "\npipeline { agent any\n stages { stage('S') { steps { greet() } } } }\n";
  int64_t unknown = c.trigger(c.make_repo({{"Jenkinsfile", "@Library('nope') _" + steps}}));
  int64_t pinned = c.trigger(c.make_repo({{"Jenkinsfile", "@Library('acme@v9') _" + steps}}));
  json a = c.wait_run(unknown, 30s);
  json b = c.wait_run(pinned, 30s);
  INFO(a.dump() << "\n" << b.dump());
  CHECK(a["status"] == "failed");
  CHECK(a["reason"].get<std::string>().find(
            "library 'nope' (line 1) is not configured on this controller (it has: acme)") !=
        std::string::npos);
  CHECK(b["status"] == "failed");
  CHECK(b["reason"].get<std::string>().find(
            "library 'acme@v9' (line 1): that version is not allowed (allowed: main)") !=
        std::string::npos);
}

TEST_CASE("gantry run loads shared libraries with --library and templates too") {
  TempDir dir;
  const std::string lib = git_repo(dir.path + "/acme", kLibrary);
  std::filesystem::create_directories(dir.path + "/app");
  std::ofstream(dir.path + "/app/Jenkinsfile") << kUsesLibrary;
  std::ofstream(dir.path + "/app/Template.groovy") << kTemplate;
  CliResult r = shell("cd '" + dir.path +
                      "/app' && " GANTRY_BIN " run --workspace here --library acme=" + lib +
                      " 2>&1 </dev/null");
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("bumped 2.3 to 2.4 on local") != std::string::npos);
  CHECK(r.out.find("banner: ACME BUILD") != std::string::npos);
  CHECK(r.out.find("Hello, second from greet") != std::string::npos);
  CliResult t =
      shell("cd '" + dir.path +
            "/app' && " GANTRY_BIN " run Template.groovy --workspace here --library acme=" + lib +
            "@main 2>&1 </dev/null");
  INFO(t.out);
  CHECK(t.exit_code == 0);
  CHECK(t.out.find("template hi demo") != std::string::npos);
  CHECK(t.out.find("checked demo") != std::string::npos);
  CHECK(t.out.find("must not run") == std::string::npos);
  // Without the library the template has no pipeline: a clear error, nothing run.
  CliResult none =
      shell("cd '" + dir.path +
            "/app' && " GANTRY_BIN " run Template.groovy --workspace here 2>&1 </dev/null");
  INFO(none.out);
  CHECK(none.exit_code != 0);
  CHECK(none.out.find("no pipeline { } block found") != std::string::npos);
  // A library --library does not give is said and left out; the rest runs.
  std::ofstream(dir.path + "/app/Other.groovy")
      << "@Library('other@1') _\npipeline { agent any\n stages { stage('S') { steps { echo "
         "'still ran' } } } }\n";
  CliResult other =
      shell("cd '" + dir.path +
            "/app' && " GANTRY_BIN " run Other.groovy --workspace here 2>&1 </dev/null");
  INFO(other.out);
  CHECK(other.exit_code == 0);
  CHECK(other.out.find("library 'other' is not loaded (give it with --library other=URL)") !=
        std::string::npos);
  CHECK(other.out.find("still ran") != std::string::npos);
}
