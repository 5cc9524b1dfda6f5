// Notifications through real daemons (SPEC §7, issue 21; docs/notifications.md): the e-mail
// approvers get when a GMUD opens (a real SMTP server, aiosmtpd, with STARTTLS and AUTH), the
// Slack-shaped POSTs of a canary that pauses and rolls back, a signed generic webhook, and the
// mail, emailext and slackSend steps of a Jenkinsfile run by a real agent, sent through the
// controller's channels; a mail step with no SMTP channel configured fails saying so.
#include <catch2/catch.hpp>

#include <thread>

#include "../support/py_server.hpp"
#include "../support/test_pki.hpp"
#include "harness.hpp"

using namespace gantry::e2e;
using gantry::test::PyServer;

namespace {

// Made once per process, removed at its exit.
const gantry::test::TestPki& pki() {
  struct Made {
    gantry::test::TestPki p;
    ~Made() {
      std::error_code ignored;
      std::filesystem::remove_all(p.dir, ignored);
    }
  };
  static const Made made{
      gantry::test::make_test_pki(std::filesystem::temp_directory_path() /
                                  ("gantry-notify-pki-" + std::to_string(::getpid())))};
  return made.p;
}

// Commits in the harness' repositories are by Tess <t@example.com>.
const std::string kUsers = R"(users:
  - {name: ada, role: admin, token: admin-token, emails: [ada@example.com]}
  - {name: rita, role: release-manager, groups: [release-managers], emails: [rita@example.com], token: rita-token}
  - {name: dev, role: developer, token: dev-token}
)";

// The channels: e-mail over STARTTLS with a password, Slack, a signed generic webhook.
std::string channels(const PyServer& smtp, const PyServer& hooks,
                     const std::string& password_file) {
  const std::string h = "http://127.0.0.1:" + std::to_string(hooks.port());
  return "notifications:\n"
         "  - name: release-managers\n"
         "    smtp: {host: 127.0.0.1, port: " +
         std::to_string(smtp.port()) +
         ", from: gantry@example.com, username: gantry, password_file: " + password_file +
         ", ca_file: " + pki().ca +
         "}\n"
         "    to: [rm@example.com]\n"
         "  - {name: chat, slack_webhook: '" +
         h +
         "/slack', channel: '#releases'}\n"
         "  - {name: audit, webhook: '" +
         h + "/hook', secret: k3y, events: [gmud.opened, gmud.approved, canary.rolled_back]}\n";
}

PyServer smtp_server(const std::string& name) {
  return PyServer(
      "smtp_server.py", name,
      {"--cert", pki().server_cert, "--key", pki().server_key, "--auth", "gantry:mail-pw"});
}

json line(const std::string& text) {
  return json::parse(text);
}

// The first record of `file` whose text holds `needle`, waiting for it (bounded).
json wait_record(const PyServer& s, const std::string& file, const std::string& needle,
                 std::chrono::seconds timeout = std::chrono::seconds(30)) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    for (const std::string& l : s.wait_lines(file, 0, std::chrono::milliseconds(0))) {
      if (l.find(needle) != std::string::npos) return line(l);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL("no record with '" << needle << "' in " << file << ": " << s.read(file));
  return json();
}

std::string gmud_pipeline() {
  return R"(pipeline {
  agent any
  stages {
    stage('Deploy') {
      deploy('production')
      gmud { title 'Release the new checkout'; impact 'high'; rollbackPlan 'redeploy R-0' }
      steps { sh 'echo deploying' }
    }
  }
}
)";
}

}  // namespace

TEST_CASE("approvers get an e-mail when a GMUD opens and the hooks hear its approval") {
  PyServer smtp = smtp_server("notify-gmud-smtp");
  PyServer hooks("hook_receiver.py", "notify-gmud-hooks");
  TempDir tmp;
  const std::string password = tmp.path + "/smtp-password";
  std::ofstream(password) << "mail-pw\n";
  Cluster cluster(kUsers +
                  "environments:\n  production:\n    gmud: {approvers: [release-managers], "
                  "min_approvals: 1, expires_after: 1h}\n" +
                  channels(smtp, hooks, password));
  cluster.start_controller();
  cluster.admin_token = "admin-token";
  cluster.start_agent({});
  cluster.wait_agents(1);
  const std::string repo =
      cluster.watch_repository(cluster.make_repo({{"Jenkinsfile", gmud_pipeline()}}));
  CliResult t = cluster.cli({"--token", "dev-token", "trigger", "--repo", repo});
  REQUIRE(t.exit_code == 0);
  const int64_t run = std::stoll(t.out);
  cluster.wait_stage(run, "Deploy", "waiting");

  // The e-mail: over STARTTLS, authenticated, to the channel's recipients, saying what needs
  // approval and linking to it on the web page.
  json mail = wait_record(smtp, "messages.jsonl", "GMUD-1 needs approval");
  CHECK(mail["tls"] == true);
  CHECK(mail["auth"] == true);
  CHECK(mail["mail_from"] == "gantry@example.com");
  CHECK(mail["rcpt_tos"] == json::array({"rm@example.com"}));
  const std::string data = mail["data"];
  INFO(data);
  CHECK(data.find("Subject: [Gantry] GMUD-1 needs approval: " + repo + " to production (run " +
                  std::to_string(run) + ")") != std::string::npos);
  CHECK(data.find("Environment:    production") != std::string::npos);
  CHECK(data.find("Stage:          Deploy") != std::string::npos);
  CHECK(data.find("Run:            " + std::to_string(run)) != std::string::npos);
  CHECK(data.find("Repository:     " + repo) != std::string::npos);
  CHECK(data.find("Range:          1 commit not yet in production") != std::string::npos);
  CHECK(data.find("Title:          Release the new checkout") != std::string::npos);
  CHECK(data.find("Expires:        ") != std::string::npos);
  CHECK(data.find("Open: " + cluster.url + "/#/approvals/GMUD-1") != std::string::npos);
  CHECK(data.find("gantry approve GMUD-1") != std::string::npos);

  // Slack: the subject with the link, the details in a colored attachment, to its channel.
  json slack = wait_record(hooks, "requests.jsonl", "GMUD-1 needs approval");
  CHECK(slack["path"] == "/slack");
  json body = json::parse(slack["body"].get<std::string>());
  CHECK(body["channel"] == "#releases");
  CHECK(body["text"].get<std::string>().find("<" + cluster.url + "/#/approvals/GMUD-1|open>") !=
        std::string::npos);
  CHECK(body["attachments"][0]["color"] == "warning");

  CliResult approved = cluster.cli({"--token", "rita-token", "approve", "GMUD-1"});
  INFO(approved.out);
  CHECK(approved.exit_code == 0);
  CHECK(cluster.wait_run(run)["status"] == "succeeded");

  // The generic webhook: its JSON, signed with the channel's secret.
  json hook = wait_record(hooks, "requests.jsonl", "\\\"gmud.approved\\\"");
  CHECK(hook["path"] == "/hook");
  const std::string raw = hook["body"];
  CHECK(hook["headers"]["x-gantry-signature-256"] == "sha256=" + hmac_sha256_hex("k3y", raw));
  CHECK(hook["headers"]["x-gantry-event"] == "gmud.approved");
  json event = json::parse(raw);
  CHECK(event["event"] == "gmud.approved");
  CHECK(event["gmud"] == "GMUD-1");
  CHECK(event["run"] == std::to_string(run));
  CHECK(event["environment"] == "production");
  CHECK(event["url"] == cluster.url + "/#/approvals/GMUD-1");
  // The approval mail too; and /metrics counts what went out.
  wait_record(smtp, "messages.jsonl", "GMUD-1 approved");
  HttpResult metrics;
  for (int i = 0; i < 100; ++i) {
    metrics = cluster.http("GET", "/metrics");
    if (metrics.body.find("gantry_notifications_sent_total{channel=\"release-managers\"} 2") !=
        std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(metrics.body.find("gantry_notifications_sent_total{channel=\"release-managers\"} 2") !=
        std::string::npos);
  CHECK(metrics.body.find("gantry_notifications_failed_total{channel=\"chat\"} 0") !=
        std::string::npos);
}

TEST_CASE("a canary that pauses and is aborted is told to Slack and to the webhook") {
  PyServer smtp = smtp_server("notify-canary-smtp");
  PyServer hooks("hook_receiver.py", "notify-canary-hooks");
  TempDir tmp;
  const std::string password = tmp.path + "/smtp-password";
  std::ofstream(password) << "mail-pw";
  Cluster c(kUsers + "environments:\n  staging: {}\n" + channels(smtp, hooks, password));
  c.start_controller();
  c.admin_token = "admin-token";
  c.start_agent({});
  c.wait_agents(1);
  const std::string pipeline = R"(pipeline {
  agent any
  stages {
    stage('Prod') {
      deploy('staging') {
        canary {
          weights 10, 100
          pause()
        }
        rollback { sh 'echo "rolling back $RELEASE_ID"' }
      }
      steps { sh 'echo "deploy $CANARY_WEIGHT"' }
    }
  }
}
)";
  CliResult t = c.cli({"trigger", "--repo", c.make_repo({{"Jenkinsfile", pipeline}})});
  REQUIRE(t.exit_code == 0);
  const int64_t run = std::stoll(t.out);

  json paused = wait_record(hooks, "requests.jsonl", "is paused");
  json pause_body = json::parse(paused["body"].get<std::string>());
  CHECK(paused["path"] == "/slack");
  CHECK(pause_body["text"].get<std::string>().find("Canary R-1") != std::string::npos);
  CHECK(pause_body["attachments"][0]["text"].get<std::string>().find("gantry promote R-1") !=
        std::string::npos);

  CliResult aborted = c.cli({"--token", "rita-token", "abort", "R-1", "--comment", "too slow"});
  INFO(aborted.out);
  CHECK(aborted.exit_code == 0);
  CHECK(c.wait_run(run)["status"] == "failed");

  json slack = wait_record(hooks, "requests.jsonl", "was rolled back");
  CHECK(slack["path"] == "/slack");
  json body = json::parse(slack["body"].get<std::string>());
  CHECK(body["text"].get<std::string>().starts_with("R-1 of "));
  CHECK(body["attachments"][0]["color"] == "danger");
  CHECK(body["attachments"][0]["text"].get<std::string>().find("aborted by rita: too slow") !=
        std::string::npos);
  json hook = wait_record(hooks, "requests.jsonl", "\\\"canary.rolled_back\\\"");
  CHECK(hook["path"] == "/hook");
  CHECK(hook["headers"]["x-gantry-signature-256"] ==
        "sha256=" + hmac_sha256_hex("k3y", hook["body"].get<std::string>()));
  json event = json::parse(hook["body"].get<std::string>());
  CHECK(event["release"] == "R-1");
  CHECK(event["environment"] == "staging");
  // The e-mail channel hears canaries too (its default events).
  wait_record(smtp, "messages.jsonl", "R-1 of ");
}

TEST_CASE("an input that waits for someone is told to the channels that hear input.opened") {
  PyServer smtp = smtp_server("notify-input-smtp");
  PyServer hooks("hook_receiver.py", "notify-input-hooks");
  TempDir tmp;
  const std::string password = tmp.path + "/smtp-password";
  std::ofstream(password) << "mail-pw";
  Cluster c(kUsers + channels(smtp, hooks, password));
  c.start_controller();
  c.admin_token = "admin-token";
  c.start_agent({});
  c.wait_agents(1);
  CliResult t = c.cli({"trigger", "--repo", c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Ask') { steps { input message: 'Ship build 7 to the beta group?', submitter: 'rita' } }
  }
}
)"}})});
  REQUIRE(t.exit_code == 0);
  const int64_t run = std::stoll(t.out);
  json told = wait_record(hooks, "requests.jsonl", "waits for input");
  CHECK(told["path"] == "/slack");
  json body = json::parse(told["body"].get<std::string>());
  CHECK(body["text"].get<std::string>().starts_with("INPUT-1 waits for input: Ship build 7"));
  CHECK(body["attachments"][0]["text"].get<std::string>().find("gantry approve INPUT-1") !=
        std::string::npos);
  // The e-mail channel hears it too (its default events); the audit hook, which names its
  // events, does not.
  wait_record(smtp, "messages.jsonl", "INPUT-1 waits for input");
  CHECK(c.cli({"--token", "rita-token", "approve", "INPUT-1"}).exit_code == 0);
  CHECK(c.wait_run(run)["status"] == "succeeded");
  CHECK(hooks.read("requests.jsonl").find("\\\"input.opened\\\"") == std::string::npos);
}

TEST_CASE("mail emailext and slackSend steps send through the controller's channels") {
  PyServer smtp = smtp_server("notify-steps-smtp");
  PyServer hooks("hook_receiver.py", "notify-steps-hooks");
  TempDir tmp;
  const std::string password = tmp.path + "/smtp-password";
  std::ofstream(password) << "mail-pw";
  Cluster c(kUsers + channels(smtp, hooks, password));
  c.start_controller();
  c.admin_token = "admin-token";
  c.start_agent({});
  c.wait_agents(1);
  const std::string pipeline = R"(pipeline {
  agent any
  stages {
    stage('Notify') {
      steps {
        mail to: 'team@example.com, Lead <lead@example.com>', bcc: 'audit@example.com', subject: "Build ${BUILD_NUMBER} of ${JOB_NAME}", body: "All good.\n.a line with a dot\nbye"
        emailext subject: 'Déploiement', body: '<b>done</b>', mimeType: 'text/html', to: 'x@example.com', recipientProviders: [developers(), requestor()], attachLog: true
        slackSend channel: '#builds', color: 'good', message: "built ${BUILD_NUMBER}"
        script {
          mail to: 'script@example.com', subject: 'from a script', body: 'hello'
        }
      }
    }
  }
}
)";
  const std::string repo = c.make_repo({{"Jenkinsfile", pipeline}});
  // Lint knows the steps (and emailext's recipient providers).
  CliResult lint = c.cli({"lint", repo + "/Jenkinsfile"});
  INFO(lint.out);
  CHECK(lint.exit_code == 0);
  CHECK(lint.out.find("unknown step") == std::string::npos);
  CHECK(lint.out.find("0 warnings") != std::string::npos);

  CliResult t = c.cli({"trigger", "--repo", repo});
  REQUIRE(t.exit_code == 0);
  const int64_t run = std::stoll(t.out);
  json done = c.wait_run(run);
  const std::string log = c.stage_log(run, "Notify");
  INFO(log);
  REQUIRE(done["status"] == "succeeded");
  CHECK(log.find("mail: sent to team@example.com, Lead <lead@example.com> (sent through channel "
                 "'release-managers')") != std::string::npos);
  CHECK(log.find("emailext: attachLog is not supported; ignored") != std::string::npos);

  json mail = wait_record(smtp, "messages.jsonl", "Subject: Build 1 of ");
  CHECK(mail["rcpt_tos"] ==
        json::array({"team@example.com", "lead@example.com", "audit@example.com"}));
  std::string data = mail["data"];
  CHECK(data.find("To: team@example.com,\r\n \"Lead\" <lead@example.com>\r\n") !=
        std::string::npos);
  CHECK(data.find("audit@example.com") == std::string::npos);
  CHECK(data.find("\r\n\r\nAll good.\r\n.a line with a dot\r\nbye\r\n") != std::string::npos);

  // emailext: its recipients plus the commits' author and the user who started the run.
  json ext = wait_record(smtp, "messages.jsonl", "text/html");
  const json rcpts = ext["rcpt_tos"];
  INFO(rcpts.dump());
  CHECK(rcpts.front() == "x@example.com");
  CHECK(std::find(rcpts.begin(), rcpts.end(), "t@example.com") != rcpts.end());
  CHECK(rcpts.back() == "ada@example.com");
  CHECK(ext["data"].get<std::string>().find("Subject: =?UTF-8?B?RMOpcGxvaWVtZW50?=") !=
        std::string::npos);
  wait_record(smtp, "messages.jsonl", "from a script");

  json slack = wait_record(hooks, "requests.jsonl", "built 1");
  json body = json::parse(slack["body"].get<std::string>());
  CHECK(body["channel"] == "#builds");
  CHECK(body["attachments"][0]["color"] == "good");
  CHECK(body["attachments"][0]["text"] == "built 1");
}

TEST_CASE("a mail step fails clearly when the controller has no SMTP channel") {
  Cluster c(kUsers);
  c.start_controller();
  c.admin_token = "admin-token";
  c.start_agent({});
  c.wait_agents(1);
  const std::string pipeline = R"(pipeline {
  agent any
  stages {
    stage('Notify') {
      steps { mail to: 'team@example.com', subject: 'hello', body: 'hi' }
    }
  }
}
)";
  CliResult t = c.cli({"trigger", "--repo", c.make_repo({{"Jenkinsfile", pipeline}})});
  REQUIRE(t.exit_code == 0);
  const int64_t run = std::stoll(t.out);
  json done = c.wait_run(run);
  CHECK(done["status"] == "failed");
  const std::string log = c.stage_log(run, "Notify");
  INFO(log);
  CHECK(log.find("mail: no SMTP channel is configured under notifications: in the controller's "
                 "config") != std::string::npos);
}
