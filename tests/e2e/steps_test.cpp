// Steps that cross the network between agent and controller, through real
// daemons: archived artifacts, stash/unstash between two agents, junit
// counts, masked secrets, parameters and environment values.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include "harness.hpp"

using namespace gantry::e2e;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Every byte value, several times over, so text-mode bugs show.
std::string binary_blob() {
  std::string out;
  for (int round = 0; round < 300; ++round) {
    for (int b = 0; b < 256; ++b) out += static_cast<char>((b * 7 + round) & 0xff);
  }
  return out;
}

std::string seq(int n) {
  std::string out;
  for (int i = 1; i <= n; ++i) out += std::to_string(i) + "\n";
  return out;
}

// `dir` if it is a file, or the files under it (recursively), whose bytes contain `needle`.
std::vector<std::string> files_containing(const std::string& dir, const std::string& needle) {
  std::vector<std::string> out;
  std::error_code ec;
  if (fs::is_regular_file(dir, ec)) {
    if (read_file(dir).find(needle) != std::string::npos) out.push_back(dir);
    return out;
  }
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    if (read_file(it->path().string()).find(needle) != std::string::npos)
      out.push_back(it->path().string());
  }
  return out;
}

}  // namespace

TEST_CASE("archiveArtifacts uploads files that download byte for byte") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  const std::string blob = binary_blob();
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Build') {
      steps {
        sh 'mkdir -p out/sub && seq 1 20000 > out/numbers.txt && cp data/blob.bin out/sub/blob.bin'
        sh 'echo skipped > out/ignored.log'
        sh 'head -c 12582912 /dev/urandom > out/big.bin && sha256sum out/big.bin'
        archiveArtifacts artifacts: 'out/**', excludes: '**/*.log'
      }
    }
  }
}
)"},
                                  {"data/blob.bin", blob}});
  int64_t id = c.trigger(repo);
  json run = c.wait_run(id, 30s);
  INFO(run.dump());
  REQUIRE(run["status"] == "succeeded");
  std::string base = "/api/v1/runs/" + std::to_string(id) + "/artifacts";
  json list = c.get_json(base);
  INFO(list.dump());
  std::map<std::string, json> by_path;
  for (const auto& a : list["artifacts"]) by_path[a["path"]] = a;
  REQUIRE(by_path.size() == 3);
  REQUIRE(by_path.count("out/numbers.txt"));
  REQUIRE(by_path.count("out/sub/blob.bin"));
  CHECK(by_path["out/sub/blob.bin"]["size"] == blob.size());
  CHECK(by_path["out/sub/blob.bin"]["stage"] == "Build");
  HttpResult numbers = c.http("GET", base + "/file?path=out/numbers.txt");
  CHECK(numbers.status == 200);
  CHECK(numbers.body == seq(20000));
  HttpResult got = c.http("GET", base + "/file?path=out%2Fsub%2Fblob.bin");
  CHECK(got.status == 200);
  CHECK(got.body.size() == blob.size());
  CHECK(sha256(got.body) == sha256(blob));
  // Bigger than the in-memory request limit: uploaded through a file.
  HttpResult big = c.http("GET", base + "/file?path=out/big.bin");
  CHECK(big.status == 200);
  CHECK(big.body.size() == 12582912);
  CHECK(by_path["out/big.bin"]["size"] == 12582912);
  CHECK(c.stage_log(id, "Build").find(sha256(big.body) + "  out/big.bin") != std::string::npos);
  // Things that are not artifacts of this run.
  CHECK(c.http("GET", base + "/file?path=out/ignored.log").status == 404);
  CHECK(c.http("GET", base + "/file?path=../controller.yml").status == 404);
  CHECK(c.http("GET", base + "/file").status == 404);
  CHECK(c.http("GET", "/api/v1/runs/999/artifacts").status == 404);
  // The CLI's artifact listing, if any, agrees; the run JSON is unchanged.
  CHECK(c.wait_run(id)["status"] == "succeeded");
}

TEST_CASE("stash on one agent and unstash on another round-trips files") {
  Cluster c;
  c.start_controller();
  c.start_agent({"maker", {"maker"}, 1});
  c.start_agent({"user", {"user"}, 1});
  c.wait_agents(2);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent none
  stages {
    stage('Make') {
      agent { label 'maker' }
      steps {
        sh 'mkdir -p dist/deep && printf "stash-payload-42\n" > dist/x.txt && seq 1 5000 > dist/deep/nums.txt && cp data/blob.bin dist/blob.bin'
        stash name: 'dist', includes: 'dist/**'
      }
    }
    stage('Use') {
      agent { label 'user' }
      steps {
        sh 'test ! -e dist/x.txt || { echo dist already here; exit 1; }'
        unstash 'dist'
        sh 'cat dist/x.txt && sha256sum dist/deep/nums.txt dist/blob.bin'
      }
    }
  }
}
)"},
                                  {"data/blob.bin", binary_blob()}});
  int64_t id = c.trigger(repo);
  json run = c.wait_run(id, 30s);
  INFO(run.dump());
  auto s = stages_by_id(run);
  CHECK(s["Make"]["agent"] == "maker");
  CHECK(s["Use"]["agent"] == "user");
  REQUIRE(run["status"] == "succeeded");
  std::string log = c.stage_log(id, "Use");
  INFO(log);
  CHECK(log.find("stash-payload-42") != std::string::npos);
  CHECK(log.find(sha256(seq(5000)) + "  dist/deep/nums.txt") != std::string::npos);
  CHECK(log.find(sha256(binary_blob()) + "  dist/blob.bin") != std::string::npos);
  // A stash is not an artifact.
  CHECK(c.get_json("/api/v1/runs/" + std::to_string(id) + "/artifacts")["artifacts"].size() == 0);
}

TEST_CASE("unstash of a stash that does not exist fails the stage with its name") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Use') { steps { unstash 'never-stashed' } }
  }
}
)"}});
  int64_t id = c.trigger(repo);
  json run = c.wait_run(id, 30s);
  CHECK(run["status"] == "failed");
  auto s = stages_by_id(run);
  std::string why = s["Use"]["reason"].get<std::string>() + c.stage_log(id, "Use");
  INFO(why);
  CHECK(why.find("never-stashed") != std::string::npos);
}

TEST_CASE("junit with a failing test case makes the stage and the run unstable") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Test') {
      steps {
        sh 'echo running tests'
        junit 'reports/*.xml'
      }
    }
    stage('After') { steps { sh 'echo after ran' } }
  }
}
)"},
                                  {"reports/unit.xml", R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="unit" tests="4" failures="1" errors="0" skipped="1">
    <testcase classname="a" name="passes"/>
    <testcase classname="a" name="also passes"/>
    <testcase classname="a" name="fails"><failure message="expected 1, got 2">trace</failure></testcase>
    <testcase classname="a" name="skipped"><skipped/></testcase>
  </testsuite>
</testsuites>
)"}});
  CliResult t = c.cli({"trigger", "--repo", repo});
  REQUIRE(t.exit_code == 0);
  int64_t id = std::stoll(t.out);
  CliResult w = c.cli({"wait", std::to_string(id)});
  INFO(w.out);
  CHECK(w.exit_code == 3);
  json run = c.wait_run(id);
  INFO(run.dump());
  CHECK(run["status"] == "unstable");
  auto s = stages_by_id(run);
  CHECK(s["Test"]["status"] == "unstable");
  CHECK(s["After"]["status"] == "succeeded");
  CHECK(run["tests"]["total"] == 4);
  CHECK(run["tests"]["failed"] == 1);
  CHECK(run["tests"]["skipped"] == 1);
  json shown = json::parse(c.cli({"show", std::to_string(id), "--json"}).out, nullptr, false);
  CHECK(shown["tests"]["failed"] == 1);
  // Listed runs carry the counts too.
  json runs = c.get_json("/api/v1/runs");
  REQUIRE(runs["runs"].size() == 1);
  CHECK(runs["runs"][0]["tests"]["total"] == 4);

  // Each case, the failure first with its message and text.
  json tests = c.get_json("/api/v1/runs/" + std::to_string(id) + "/tests");
  INFO(tests.dump());
  REQUIRE(tests["cases"].size() == 4);
  CHECK(tests["cases"][0]["name"] == "fails");
  CHECK(tests["cases"][0]["stage"] == "Test");
  CHECK(tests["cases"][0]["message"] == "expected 1, got 2");
  CHECK(tests["cases"][0]["details"] == "trace");
  CHECK(tests["cases"][1]["status"] == "skipped");
  json failed = c.get_json("/api/v1/runs/" + std::to_string(id) + "/tests?status=failed");
  CHECK(failed["cases"].size() == 1);
  CHECK(c.http("GET", "/api/v1/runs/" + std::to_string(id) + "/tests?status=broken").status == 400);
  // The terminal says the same: show lists the failure, tests lists them all.
  CliResult shown_text = c.cli({"show", std::to_string(id)});
  INFO(shown_text.out);
  CHECK(shown_text.out.find("Failed tests:") != std::string::npos);
  CHECK(shown_text.out.find("FAILED  Test  a.fails") != std::string::npos);
  CHECK(shown_text.out.find("expected 1, got 2") != std::string::npos);
  CliResult listed = c.cli({"tests", std::to_string(id)});
  INFO(listed.out);
  CHECK(listed.exit_code == 0);
  CHECK(listed.out.find("4 tests, 1 failed, 1 skipped") != std::string::npos);
  CHECK(listed.out.find("PASSED  Test  a.also passes") != std::string::npos);
  CHECK(c.cli({"tests", std::to_string(id), "--status", "nope"}).exit_code != 0);
}

TEST_CASE("secrets reach the step and are masked in stored logs") {
  const std::string secret = "s3cr3t-value-123";
  Cluster c("secrets:\n  deploy-key: {value: " + secret +
            "}\n  login: {value: \"deployer:pa55w0rd-xyz\"}\n");
  // The pipeline checks the value by its hash, so the source holds no secret.
  std::string jenkinsfile = R"JF(pipeline {
  agent any
  stages {
    stage('Deploy') {
      environment { KEY = credentials('deploy-key') }
      steps {
        sh 'echo "key=$KEY"; test "$(printf %s "$KEY" | sha256sum | cut -c1-64)" = HASH && echo key-matches'
        withCredentials([string(credentialsId: 'deploy-key', variable: 'T')]) {
          sh 'echo "tok=$T"; printf "%s" "$T" | wc -c'
        }
        sh 'echo "after=[$T]"'
        withCredentials([file(credentialsId: 'deploy-key', variable: 'F')]) {
          sh 'echo "file=$(cat "$F")"; echo "$F" > secret-path.txt'
        }
        sh 'test ! -e "$(cat secret-path.txt)" && echo secret-file-gone'
        withCredentials([usernamePassword(credentialsId: 'login', usernameVariable: 'U',
                                          passwordVariable: 'P')]) {
          sh 'echo "user=$U pass=$P"'
        }
      }
    }
    stage('Login') {
      environment {
        CRED_NAME = 'login'
        LOGIN = credentials("${CRED_NAME}")
      }
      steps {
        sh 'echo "usr=$LOGIN_USR psw=$LOGIN_PSW all=$LOGIN"; test "$LOGIN_PSW" = "$(echo cGE1NXcwcmQteHl6 | base64 -d)" && echo psw-matches'
      }
    }
  }
}
)JF";
  jenkinsfile.replace(jenkinsfile.find("HASH"), 4, sha256(secret));
  c.add_repository("app", c.make_repo({{"Jenkinsfile", jenkinsfile}}));
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  int64_t id = c.trigger("app");
  json run = c.wait_run(id, 30s);
  INFO(run.dump());
  REQUIRE(run["status"] == "succeeded");
  HttpResult log = c.http("GET", "/api/v1/runs/" + std::to_string(id) + "/log?stage=Deploy");
  INFO(log.body);
  CHECK(log.status == 200);
  CHECK(log.body.find("key=****") != std::string::npos);
  CHECK(log.body.find("key-matches") != std::string::npos);
  CHECK(log.body.find("tok=****") != std::string::npos);
  CHECK(log.body.find("16") != std::string::npos);  // the step saw all of it
  CHECK(log.body.find("after=[]") != std::string::npos);
  CHECK(log.body.find(secret) == std::string::npos);
  CHECK(log.body.find("s3cr3t") == std::string::npos);
  CHECK(log.body.find("file=****") != std::string::npos);
  CHECK(log.body.find("secret-file-gone") != std::string::npos);
  CHECK(log.body.find("user=deployer pass=****") != std::string::npos);
  CHECK(log.body.find("pa55w0rd") == std::string::npos);
  // credentials() of a username with password, its id from a GString: NAME_USR and NAME_PSW,
  // the password masked alone and whole.
  std::string login = c.stage_log(id, "Login");
  INFO(login);
  CHECK(login.find("usr=deployer psw=**** all=****") != std::string::npos);
  CHECK(login.find("psw-matches") != std::string::npos);
  CHECK(login.find("pa55w0rd") == std::string::npos);
  // Not in any file the controller keeps (logs, database), nor the agent's spool.
  std::vector<std::string> leaks;
  for (const std::string& value : {secret, std::string("pa55w0rd-xyz")}) {
    for (const char* f : {"/data", "/controller.log", "/agent1.log", "/agent1"}) {
      for (const auto& leak : files_containing(c.dir() + f, value)) leaks.push_back(leak);
    }
  }
  INFO("leaks: " << json(leaks).dump());
  CHECK(leaks.empty());
  CHECK(files_containing(c.dir() + "/controller.yml", secret).size() == 1);  // the check works
  CHECK(files_containing(c.dir() + "/controller.yml", "pa55w0rd-xyz").size() == 1);
  CliResult logs = c.cli({"logs", std::to_string(id)});
  CHECK(logs.out.find(secret) == std::string::npos);
  // The run JSON does not carry it either.
  CHECK(c.http("GET", "/api/v1/runs/" + std::to_string(id)).body.find(secret) == std::string::npos);
}

TEST_CASE("an unknown credentials id fails the stage and names it") {
  Cluster c("secrets:\n  deploy-key: {value: abc}\n");
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Deploy') {
      steps {
        withCredentials([string(credentialsId: 'no-such-key', variable: 'T')]) { sh 'echo $T' }
      }
    }
  }
}
)"}});
  int64_t id = c.trigger(repo);
  json run = c.wait_run(id, 30s);
  CHECK(run["status"] == "failed");
  std::string why = stages_by_id(run)["Deploy"]["reason"].get<std::string>() + run.dump() +
                    c.stage_log(id, "Deploy");
  INFO(why);
  CHECK(why.find("no-such-key") != std::string::npos);
}

TEST_CASE("parameters from gantry trigger -p and environment values reach the steps") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  parameters {
    string(name: 'GREETING', defaultValue: 'hi')
    booleanParam(name: 'LOUD', defaultValue: false)
  }
  environment {
    X = "v${BUILD_NUMBER}"
    WHO = "${params.GREETING}-world"
  }
  stages {
    stage('Greet') {
      environment { Y = "${env.X}.${GREETING}" }
      steps {
        sh 'echo "greeting=$GREETING x=$X who=$WHO y=$Y loud=$LOUD"'
        echo "param=${params.GREETING} build=${env.BUILD_NUMBER}"
      }
    }
  }
}
)"}});
  CliResult t = c.cli({"trigger", "--repo", repo, "-p", "GREETING=hello"});
  REQUIRE(t.exit_code == 0);
  int64_t first = std::stoll(t.out);
  json run = c.wait_run(first, 30s);
  INFO(run.dump());
  REQUIRE(run["status"] == "succeeded");
  CHECK(run["params"]["GREETING"] == "hello");
  std::string log = c.stage_log(first, "Greet");
  INFO(log);
  CHECK(log.find("greeting=hello x=v1 who=hello-world y=v1.hello loud=false") != std::string::npos);
  CHECK(log.find("param=hello build=1") != std::string::npos);

  // Without -p the default applies; BUILD_NUMBER moves on.
  t = c.cli({"trigger", "--repo", repo});
  REQUIRE(t.exit_code == 0);
  int64_t second = std::stoll(t.out);
  REQUIRE(c.wait_run(second, 30s)["status"] == "succeeded");
  log = c.stage_log(second, "Greet");
  INFO(log);
  CHECK(log.find("greeting=hi x=v2 who=hi-world y=v2.hi loud=false") != std::string::npos);

  // A parameter the pipeline does not declare is refused or at least not
  // silently turned into something else.
  t = c.cli({"trigger", "--repo", repo, "-p", "NOPE"});
  CHECK(t.exit_code == 2);

  // Forged: Gantry's own variables and the shell's start-up ones are refused
  // at the door, whatever the pipeline declares; nothing starts.
  for (const char* forged :
       {"GIT_COMMIT=0000000-forged", "LD_PRELOAD=/tmp/evil.so", "BASH_ENV=$(id>&2)"}) {
    INFO(forged);
    t = c.cli({"trigger", "--repo", repo, "-p", forged});
    INFO(t.out);
    CHECK(t.exit_code != 0);
    CHECK(t.out.find("cannot be given") != std::string::npos);
  }
  // Undeclared: the run from the repository fails once its pipeline is read, naming the declared.
  t = c.cli({"trigger", "--repo", repo, "-p", "UNDECLARED=1"});
  REQUIRE(t.exit_code == 0);
  json refused = c.wait_run(std::stoll(t.out), 30s);
  INFO(refused.dump());
  CHECK(refused["status"] == "failed");
  CHECK(refused["reason"].get<std::string>().find(
            "parameter UNDECLARED is not declared by the pipeline (it declares: GREETING") !=
        std::string::npos);
}

TEST_CASE("a booleanParam decides when-expressions by its value: defaults and given values") {
  Cluster c;
  c.start_controller();
  c.start_agent({.name = "a1"});
  c.start_agent({.name = "a2"});
  c.wait_agents(2);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  parameters {
    booleanParam(name: 'DEPLOY', defaultValue: true)
    booleanParam(name: 'DRY', defaultValue: false)
  }
  stages {
    stage('Deploy') {
      when { expression { params.DEPLOY } }
      steps { echo "deploy=${params.DEPLOY}" }
    }
    stage('Equal') {
      when { expression { params.DEPLOY == true } }
      steps { echo 'equal' }
    }
    stage('Not') {
      when { expression { !params.DEPLOY } }
      steps { echo 'not deploying' }
    }
    stage('Dry') {
      when { expression { return params.DRY } }
      steps { echo 'dry run' }
    }
  }
}
)"}});
  auto statuses = [&](int64_t id) {
    json run = c.wait_run(id, 30s);
    INFO(run.dump());
    CHECK(run["status"] == "succeeded");
    std::string out;
    for (const auto& s : run["stages"])
      out += s["id"].get<std::string>() + "=" + s["status"].get<std::string>() + " ";
    return out;
  };
  // The defaults: DEPLOY true, DRY false.
  CHECK(statuses(c.trigger(repo)) == "Deploy=succeeded Equal=succeeded Not=skipped Dry=skipped ");
  // Given as text: "false" is false, "true" is true.
  CHECK(statuses(c.trigger(repo, {{"DEPLOY", "false"}, {"DRY", "true"}})) ==
        "Deploy=skipped Equal=skipped Not=succeeded Dry=succeeded ");
}

TEST_CASE("environment values read the agent's own variables as Jenkins evaluates them there") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  environment {
    PATH = "/opt/tool/bin:${env.PATH}"
    OUT = "$WORKSPACE/out"
    NOPE = "x-${env.NO_SUCH_VARIABLE_HERE}"
  }
  stages {
    stage('Env') {
      environment { HOME_DIR = "home=${HOME}" }
      steps {
        sh 'echo "path=$PATH"; echo "out=$OUT"; echo "nope=$NOPE"; echo "$HOME_DIR"; command -v sh'
      }
    }
  }
}
)"}});
  int64_t id = c.trigger(repo);
  json run = c.wait_run(id, 30s);
  INFO(run.dump());
  REQUIRE(run["status"] == "succeeded");
  std::string log = c.stage_log(id, "Env");
  INFO(log);
  // The agent's PATH after the prefix (so sh is still found), not "null".
  CHECK(log.find("path=/opt/tool/bin:/") != std::string::npos);
  CHECK(log.find("path=/opt/tool/bin:null") == std::string::npos);
  CHECK(log.find("/out\n") != std::string::npos);
  CHECK(log.find("out=/") != std::string::npos);
  CHECK(log.find("nope=x-null\n") != std::string::npos);  // env.X unset here too: null
  CHECK(log.find("home=/") != std::string::npos);
}

TEST_CASE("a secret read from a file is masked with or without its trailing newline") {
  Cluster c;
  {
    std::ofstream(c.dir() + "/deploy.key") << "filesecret-abc-789\n";
    std::ofstream(c.dir() + "/controller.yml", std::ios::app)
        << "secrets:\n  filekey: {file: " << c.dir() << "/deploy.key}\n";
  }
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Deploy') {
      steps {
        withCredentials([string(credentialsId: 'filekey', variable: 'T')]) {
          sh 'echo "quoted=[$T]"; printf "unquoted=%s.\n" $T; printf "%s" "$T" | tr -d "\n"; echo'
        }
      }
    }
  }
}
)"}});
  c.add_repository("app", repo);
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  int64_t id = c.trigger("app");
  json run = c.wait_run(id, 30s);
  REQUIRE(run["status"] == "succeeded");
  std::string log = c.stage_log(id, "Deploy");
  INFO(log);
  CHECK(log.find("unquoted=****.") != std::string::npos);
  CHECK(log.find("filesecret") == std::string::npos);
}

TEST_CASE("a password parameter is a secret: masked in the log and never shown by the API") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  parameters {
    password(name: 'DB_PASS', defaultValue: '', description: 'the database password')
    string(name: 'TARGET', defaultValue: 'eu-1')
  }
  stages {
    stage('Use') {
      steps {
        sh 'echo "pass=$DB_PASS target=$TARGET"'
        error "could not log in with ${params.DB_PASS}"
      }
    }
  }
}
)"}});
  const std::string secret = "hunter2-secret-77";
  int64_t id = c.trigger(repo, {{"DB_PASS", secret}, {"TARGET", "us-2"}});
  json run = c.wait_run(id, 30s);
  CHECK(run["status"] == "failed");
  std::string log = c.stage_log(id, "Use");
  INFO(log);
  CHECK(log.find("pass=**** target=us-2") != std::string::npos);
  CHECK(log.find(secret) == std::string::npos);
  CHECK(run["params"]["DB_PASS"] == "****");
  CHECK(run["params"]["TARGET"] == "us-2");
  CliResult shown = c.cli({"show", std::to_string(id), "--json"});
  CHECK(shown.out.find(secret) == std::string::npos);
  CHECK(c.http("GET", "/api/v1/runs/" + std::to_string(id)).body.find(secret) == std::string::npos);
  CHECK(c.http("GET", "/api/v1/runs").body.find(secret) == std::string::npos);
  // The failure reason quoted it: masked on the agent before it left.
  CHECK(run["reason"].get<std::string>().find(secret) == std::string::npos);
  CHECK(stage_of(run, "Use")["reason"].get<std::string>().find("****") != std::string::npos);
}

TEST_CASE(
    "tools in a stage pick an agent that has them and put them on PATH - tool returns the home") {
  // Two agents: only `toolbox` has maven 'M3' (its home a directory with bin/mvn). The stage
  // that needs it runs there, with M3's bin first on PATH and MAVEN_HOME set; a stage that
  // needs a tool nobody has waits and says which.
  TempDir homes;
  const std::string m3 = homes.path + "/maven-3";
  std::filesystem::create_directories(m3 + "/bin");
  std::ofstream(m3 + "/bin/mvn") << "#!/bin/sh\necho \"fake maven 3 $*\"\n";
  std::filesystem::permissions(m3 + "/bin/mvn", std::filesystem::perms::owner_all);
  Cluster c;
  c.start_controller();
  AgentOptions plain{"plain", {"linux"}, 1};
  AgentOptions toolbox{"toolbox", {"linux"}, 1};
  toolbox.extra_args = {"--tool", "maven:M3=" + m3};
  c.start_agent(plain);
  c.start_agent(toolbox);
  c.wait_agents(2);
  int64_t id = c.trigger(c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent none
  stages {
    stage('Build') {
      agent { label 'linux' }
      tools { maven 'M3' }
      steps {
        sh 'mvn -B package; echo "home=$MAVEN_HOME"'
        script { echo "tool says ${tool name: 'M3', type: 'maven'}" }
      }
    }
    stage('Gradle') {
      agent { label 'linux' }
      tools { gradle 'G7' }
      steps { sh 'gradle build' }
    }
  }
}
)"}}));
  json build = c.wait_stage(id, "Build", "succeeded", 30s);
  std::string log = c.stage_log(id, "Build");
  INFO(build.dump() << "\n" << log);
  CHECK(build["agent"] == "toolbox");
  CHECK(log.find("fake maven 3 -B package\n") != std::string::npos);
  CHECK(log.find("home=" + m3 + "\n") != std::string::npos);
  CHECK(log.find("tool says " + m3 + "\n") != std::string::npos);
  std::string reason;
  for (int i = 0; i < 300 && reason.find("tool:gradle:G7") == std::string::npos; ++i) {
    auto w = stages_by_id(c.get_json("/api/v1/runs/" + std::to_string(id)));
    reason = w["Gradle"].value("reason", "");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO(reason);
  CHECK(reason.find("none of the 2 connected agent(s) has it") != std::string::npos);
  CHECK(reason.find("tool:gradle:G7") != std::string::npos);
  c.http("POST", "/api/v1/runs/" + std::to_string(id) + "/cancel", "{}");
  CHECK(c.wait_run(id, 30s)["status"] == "aborted");
}

TEST_CASE("withCredentials inside a helper method reaches the job whose steps call it") {
  // Jenkins resolves credentials wherever the Groovy runs: a helper method defined around the
  // pipeline and called from a step (or from another method, or a script block) gets them.
  // A stage that calls no such method gets none.
  Cluster c("secrets:\n  gcp-project: {value: proj-4242}\n");
  c.add_repository("app", c.make_repo({{"Jenkinsfile", R"(def publish(String what) {
  withCredentials([string(credentialsId: 'gcp-project', variable: 'P')]) {
    sh "echo publish ${what} len=\${#P}"
  }
}
def cleanup() { publish('leftovers') }
def KEY_ID = 'gcp-project'

pipeline {
  agent any
  environment { ENV_ID = 'gcp-project' }
  stages {
    stage('Other') {
      steps { echo 'nothing secret' }
    }
    stage('ByName') {
      steps {
        withCredentials([string(credentialsId: KEY_ID, variable: 'K')]) { sh 'echo "by name len=${#K}"' }
        withCredentials([string(credentialsId: env.ENV_ID, variable: 'E')]) { sh 'echo "by env len=${#E}"' }
      }
    }
  }
  post {
    always { script { cleanup() } }
  }
}
)"}}));
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  int64_t id = c.trigger("app");
  json run = c.wait_run(id, 30s);
  std::string post = c.stage_log(id, "Declarative: Post Actions");
  INFO(run.dump() << "\n" << post);
  CHECK(run["status"] == "succeeded");
  CHECK(post.find("publish leftovers len=9\n") != std::string::npos);
  // An id written as a name the Jenkinsfile sets once to a literal reaches the job too.
  const std::string by_name = c.stage_log(id, "ByName");
  CHECK(by_name.find("by name len=9\n") != std::string::npos);
  CHECK(by_name.find("by env len=9\n") != std::string::npos);
}
