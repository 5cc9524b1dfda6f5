// Pipeline Utility Steps through real daemons: readJSON/writeJSON,
// readYaml/writeYaml, readProperties and readCSV give and take Groovy values,
// inside the workspace only.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace gantry::e2e;
using namespace std::chrono_literals;

namespace {

const char* kPackageJson = R"({
  "name": "demo",
  "version": "1.2.3",
  "private": true,
  "config": {"workers": 4, "ratio": 0.5},
  "keywords": ["ci", "build"],
  "scripts": {"build": "make", "test": "make test"},
  "dependencies": {"left-pad": "^1.3.0"}
}
)";

const char* kAppYaml = R"(# the app's settings
server:
  port: 8080
  hosts:
    - alpha
    - beta
debug: yes
version: '1.10'
code: "042"
empty:
)";

const char* kProperties = R"(# a comment
! another comment
app.name = gantry
path=C:\\tools\\bin
long = first \
       second
colon: yes
tab\ key=spaced
)";

bool has(const std::string& log, const std::string& needle) {
  return log.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("utility steps read and write JSON YAML properties and CSV as Groovy values") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string repo = c.make_repo({{"Jenkinsfile", R"JF(pipeline {
  agent any
  stages {
    stage('Files') {
      steps {
        script {
          def pkg = readJSON file: 'package.json'
          echo "name=${pkg.name} version=${pkg.version} private=${pkg.private}"
          echo "workers=${pkg.config.workers + 1} ratio=${pkg.config.ratio} dep=${pkg.dependencies['left-pad']}"
          pkg.scripts.each { k, s -> echo "script ${k} -> ${s}" }
          echo "keywords=${pkg.keywords.size()} first=${pkg.keywords[0]}"
          def list = readJSON text: '[1, 2.5, "x", null, true]', returnPojo: true
          echo "list=${list} isList=${list instanceof List}"
          pkg.version = '1.3.0'
          pkg.scripts.lint = 'eslint .'
          writeJSON file: 'out/package.json', json: pkg, pretty: 2
          def again = readJSON file: 'out/package.json'
          echo "again=${again.version} lint=${again.scripts.lint} keys=${again.keySet().join(',')}"

          def cfg = readYaml file: 'config/app.yaml'
          echo "yaml port=${cfg.server.port} debug=${cfg.debug} hosts=${cfg.server.hosts.join('+')} version=${cfg.version} code=${cfg.code} empty=${cfg.empty}"
          cfg.server.port = cfg.server.port + 1
          cfg.server.hosts << 'gamma'
          writeYaml file: 'out/app.yaml', data: cfg
          def cfg2 = readYaml file: 'out/app.yaml'
          echo "yaml again port=${cfg2.server.port} hosts=${cfg2.server.hosts.size()} version=${cfg2.version} code=${cfg2.code} debug=${cfg2.debug}"
          def docs = readYaml text: "a: 1\n---\nb: [x, y]\n"
          echo "docs=${docs.size()} b=${docs[1].b[1]}"

          def props = readProperties file: 'build.properties', defaults: [region: 'eu', 'app.name': 'default']
          echo "props name=${props['app.name']} region=${props.region} path=${props.path} long=${props.long} colon=${props.colon} tab=${props['tab key']}"

          dir('config') {
            def inner = readYaml file: 'app.yaml'
            echo "in dir port=${inner.server.port}"
          }
          def rows = readCSV text: 'a,b\n"x,1","say ""hi"""\n'
          echo "csv rows=${rows.size()} cell=${rows[1][0]} quote=${rows[1][1]}"

          try { readJSON file: 'missing.json'; echo 'missing: no error' } catch (e) { echo "missing: ${e.message}" }
          try { readJSON file: '../../etc/passwd'; echo 'escape: no error' } catch (e) { echo "escape: ${e.message}" }
          try { readYaml file: '/etc/hostname'; echo 'absolute: no error' } catch (e) { echo "absolute: ${e.message}" }
          try { writeYaml file: 'out/app.yaml', data: [a: 1]; echo 'exists: no error' } catch (e) { echo "exists: ${e.message}" }
          writeYaml file: 'out/app.yaml', data: [a: 1], overwrite: true
          try { readJSON text: '{"a": '; echo 'bad: no error' } catch (e) { echo "bad: ${e.message}" }
        }
        writeJSON file: 'out/plain.json', json: [built: true, n: 3]
        sh 'echo "plain: $(cat out/plain.json)"; cat out/package.json; echo "app: $(cat out/app.yaml)"'
      }
    }
  }
}
)JF"},
                                  {"package.json", kPackageJson},
                                  {"config/app.yaml", kAppYaml},
                                  {"build.properties", kProperties}});
  int64_t id = c.trigger(repo);
  json run = c.wait_run(id, 60s);
  std::string log = c.stage_log(id, "Files");
  INFO(run.dump() << "\n" << log);
  REQUIRE(run["status"] == "succeeded");
  CHECK(has(log, "name=demo version=1.2.3 private=true"));
  CHECK(has(log, "workers=5 ratio=0.5 dep=^1.3.0"));
  CHECK(has(log, "script build -> make"));
  CHECK(has(log, "script test -> make test"));
  CHECK(has(log, "keywords=2 first=ci"));
  CHECK(has(log, "list=[1, 2.5, x, null, true] isList=true"));
  CHECK(has(log,
            "again=1.3.0 lint=eslint . "
            "keys=name,version,private,config,keywords,scripts,dependencies"));
  CHECK(has(log, "yaml port=8080 debug=true hosts=alpha+beta version=1.10 code=042 empty=null"));
  CHECK(has(log, "yaml again port=8081 hosts=3 version=1.10 code=042 debug=true"));
  CHECK(has(log, "docs=2 b=y"));
  CHECK(has(log,
            "props name=gantry region=eu path=C:\\tools\\bin long=first second colon=yes "
            "tab=spaced"));
  CHECK(has(log, "in dir port=8080"));
  CHECK(has(log, "csv rows=2 cell=x,1 quote=say \"hi\""));
  CHECK(has(log, "missing: readJSON: file 'missing.json' does not exist"));
  CHECK(has(log, "escape: readJSON: '../../etc/passwd' is outside the workspace"));
  CHECK(has(log, "absolute: readYaml: '/etc/hostname' is outside the workspace"));
  CHECK(has(log, "exists: writeYaml: 'out/app.yaml' already exists"));
  CHECK(has(log, "bad: readJSON: not valid JSON"));
  CHECK(has(log, "plain: {\"built\":true,\"n\":3}"));
  CHECK(has(log, "\n  \"version\": \"1.3.0\",\n"));
  CHECK(has(log, "app: a: 1"));
}

TEST_CASE("readJSON outside a script block fails its stage and says where it belongs") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Read') { steps { readJSON file: 'package.json' } }
  }
}
)"},
                                  {"package.json", kPackageJson}});
  int64_t id = c.trigger(repo);
  json run = c.wait_run(id, 30s);
  CHECK(run["status"] == "failed");
  std::string why =
      stages_by_id(run)["Read"]["reason"].get<std::string>() + c.stage_log(id, "Read");
  INFO(why);
  CHECK(has(why, "readJSON returns a value: call it in a script block"));
}
