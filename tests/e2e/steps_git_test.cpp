// Source steps through real daemons: `git` and `checkout` (GitSCM, scmGit) fetching a second
// local repository through the agent's mirror cache, and `cleanWs`.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace gantry::e2e;
using namespace std::chrono_literals;

namespace {

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// A repository with main.txt on `main` and, on branch `feature`, feature.txt too.
std::string repo_with_feature(Cluster& c) {
  std::string repo = c.make_repo({{"main.txt", "on main\n"}});
  CliResult r = shell("cd '" + repo +
                      "' && git checkout -q -b feature && echo on feature > feature.txt && "
                      "git add -A && git -c user.name=Tess -c user.email=t@example.com commit "
                      "-qm feature && git checkout -q main 2>&1");
  if (r.exit_code != 0) throw std::runtime_error("git failed: " + r.out);
  return repo;
}

}  // namespace

TEST_CASE("git and checkout steps check out another repository's branch") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string other = repo_with_feature(c);
  std::string repo =
      c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Git') {
      steps {
        dir('other') {
          git url: ')" + other +
                                       R"(', branch: 'feature', changelog: false, poll: false
        }
        sh 'cat other/feature.txt other/main.txt'
      }
    }
    stage('GitSCM') {
      steps {
        script {
          checkout([$class: 'GitSCM', branches: [[name: '*/feature']],
                    userRemoteConfigs: [[url: 'file://)" +
                                       other + R"(']],
                    extensions: [[$class: 'RelativeTargetDirectory', relativeTargetDir: 'scm'],
                                 [$class: 'LocalBranch']]])
        }
        sh 'cat scm/feature.txt && cd scm && b=$(git rev-parse --abbrev-ref HEAD) && echo on branch $b'
    }
    }
    stage('ScmGit') {
      steps {
        checkout scmGit(branches: [[name: 'origin/main']],
                        userRemoteConfigs: [[url: ')" +
                                       other + R"(']],
                        extensions: [relativeTargetDirectory('plain'), cleanBeforeCheckout()])
        sh 'cat plain/main.txt && test ! -e plain/feature.txt && echo NO-FEATURE'
      }
    }
  }
}
)"}});
  int64_t id = c.trigger(repo);
  json run = c.wait_run(id, 60s);
  INFO(run.dump());
  std::string git = c.stage_log(id, "Git");
  std::string scm = c.stage_log(id, "GitSCM");
  std::string plain = c.stage_log(id, "ScmGit");
  INFO(git + scm + plain);
  REQUIRE(run["status"] == "succeeded");
  CHECK(has(git, "[gantry] git: checking out " + other + " at feature ("));
  CHECK(has(git, "on feature\non main\n"));
  CHECK(has(scm, "on branch feature\n"));
  CHECK(has(scm, "at feature ("));
  CHECK(has(scm, "on feature\n"));
  CHECK(has(plain, "at main ("));
  CHECK(has(plain, "on main\nNO-FEATURE"));
}

TEST_CASE("checkout takes submodules at their pinned commits and recursively and refuses LFS") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  // inner <- lib (submodule "inner", absolute URL) <- app (submodule "vendor/lib", "../repoN").
  std::string inner = c.make_repo({{"inner.txt", "inner v1\n"}});
  std::string lib = c.make_repo({{"lib.txt", "lib v1\n"}});
  const std::string git =
      "git -c protocol.file.allow=always -c user.name=Tess "
      "-c user.email=t@example.com ";
  CliResult r = shell("cd '" + lib + "' && " + git + "submodule -q add '" + inner + "' inner && " +
                      git + "commit -qm inner 2>&1");
  REQUIRE(r.exit_code == 0);
  std::string app = c.make_repo({{"app.txt", "app\n"}});
  const std::string lib_name = lib.substr(lib.rfind('/') + 1);
  r = shell("cd '" + app + "' && " + git + "submodule -q add '../" + lib_name + "' vendor/lib && " +
            git + "commit -qm lib 2>&1");
  REQUIRE(r.exit_code == 0);
  // lib moves on after app pinned it: the checkout takes the pinned commit.
  r = shell("cd '" + lib + "' && echo 'lib v2' > lib.txt && " + git + "commit -qam v2 2>&1");
  REQUIRE(r.exit_code == 0);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Sub') {
      steps {
        checkout([$class: 'GitSCM', branches: [[name: 'main']],
                  userRemoteConfigs: [[url: ')" + app +
                                                      R"(']],
                  extensions: [[$class: 'SubmoduleOption', recursiveSubmodules: true],
                               [$class: 'CloneOption', shallow: true, depth: 1, noTags: true],
                               [$class: 'RelativeTargetDirectory', relativeTargetDir: 'app']]])
        sh 'cat app/app.txt app/vendor/lib/lib.txt app/vendor/lib/inner/inner.txt'
      }
    }
    stage('Lfs') {
      steps {
        checkout scmGit(branches: [[name: 'main']], userRemoteConfigs: [[url: ')" +
                                                      app + R"(']],
                        extensions: [lfs()])
      }
    }
  }
}
)"}});
  int64_t id = c.trigger(repo);
  json run = c.wait_run(id, 60s);
  const std::string log = c.stage_log(id, "Sub");
  INFO(run.dump() + "\n" + log);
  CHECK(has(log, "app\nlib v1\ninner v1\n"));
  CHECK(has(log, "checkout: submodule vendor/lib at "));
  CHECK(has(log, "checkout: submodule inner at "));
  CHECK(has(log, "clone options (shallow, depth, noTags, reference) are not needed"));
  CHECK(stages_by_id(run)["Sub"]["status"] == "succeeded");
  CHECK(run["status"] == "failed");
  CHECK(has(c.stage_log(id, "Lfs"), "checkout: Git LFS is not supported"));
}

TEST_CASE("git step fails its stage on a missing branch and on credentials it was not given") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string other = repo_with_feature(c);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Private') {
      steps {
        catchError(buildResult: 'SUCCESS', stageResult: 'SUCCESS') {
          git url: ')" + c.dir() + R"(/no-such-repo', branch: 'main', credentialsId: 'deploy-key'
        }
      }
    }
    stage('Svn') {
      steps {
        catchError(buildResult: 'SUCCESS', stageResult: 'SUCCESS') {
          checkout([$class: 'SubversionSCM', locations: []])
        }
      }
    }
    stage('Missing') {
      steps { git url: ')" + other + R"(', branch: 'nope' }
    }
  }
}
)"}});
  int64_t id = c.trigger(repo);
  json run = c.wait_run(id, 60s);
  INFO(run.dump());
  CHECK(run["status"] == "failed");
  auto stages = stages_by_id(run);
  CHECK(stages["Private"]["status"] == "succeeded");
  CHECK(
      has(c.stage_log(id, "Private"), "git: credentials 'deploy-key' were not given to this job"));
  CHECK(has(c.stage_log(id, "Svn"), "checkout: only Git is supported (got SubversionSCM)"));
  CHECK(stages["Missing"]["status"] == "failed");
  std::string reason = stages["Missing"]["reason"].get<std::string>();
  CHECK(has(reason, "git: no branch, tag or commit 'nope' in " + other));
}

TEST_CASE("cleanWs empties the workspace and its patterns delete only matches") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string repo = c.make_repo({{"Jenkinsfile", R"JF(pipeline {
  agent any
  stages {
    stage('Clean') {
      steps {
        sh 'mkdir -p d/e keep junk && touch .hidden d/e/f a.log d/b.log keep.txt keep/x junk/y'
        cleanWs(patterns: [[pattern: '**/*.log', type: 'INCLUDE']])
        sh 'test ! -e a.log && test ! -e d/b.log && test -e keep.txt && test -e d/e/f && echo LOGS-GONE'
        cleanWs deleteDirs: true, patterns: [[pattern: 'keep/**', type: 'EXCLUDE']]
        sh 'ls -A | sort | tr "\n" " "; echo; test -e keep/x && test ! -e junk && echo KEEP-KEPT'
        cleanWs()
        sh 'test -z "$(ls -A)" && echo EMPTY'
        cleanWs cleanWhenSuccess: false, notFailBuild: true, disableDeferredWipeout: true
      }
    }
  }
}
)JF"}});
  int64_t id = c.trigger(repo);
  json run = c.wait_run(id, 60s);
  std::string log = c.stage_log(id, "Clean");
  INFO(run.dump() + "\n" + log);
  REQUIRE(run["status"] == "succeeded");
  CHECK(has(log, "LOGS-GONE"));
  CHECK(has(log, "\nkeep \nKEEP-KEPT"));
  CHECK(has(log, "cleanWs: emptied the workspace"));
  CHECK(has(log, "EMPTY"));
  CHECK(has(log, "cleanWs: skipped, the build is SUCCESS"));
}
