// mail, emailext and slackSend on the agent (agent/runner/steps_notify.cpp): what each hands
// the controller (protocol::Notify), how the step waits for the outcome, and its failures.
#include <catch2/catch.hpp>

#include "job_test_support.hpp"
#include "runner/job_runner.hpp"

using namespace gantry::testing;
using gantry::protocol::NotifyReply;

TEST_CASE("mail hands its fields to the controller and waits until it was sent", "[notify]") {
  TempDir ws;
  MemoryHost host;
  host.notify_replies = {{"queued", "queued for channel 'rm'"},
                         {"queued", "queued for channel 'rm'"},
                         {"sent", "sent through channel 'rm'"}};
  auto spec = make_spec(stage_pipeline(R"P(
        mail to: 'a@example.com', cc: 'b@example.com', subject: "Build ${env.BUILD_NUMBER}", body: "token ${env.TOKEN}", mimeType: 'text/html', charset: 'ISO-8859-1'
  )P"),
                        "S");
  spec.env["BUILD_NUMBER"] = "7";
  spec.env["TOKEN"] = "hunter2";
  spec.secrets["TOKEN"] = "hunter2";
  JobRun r = run_job(spec, ws.str(), host);
  INFO(r.log);
  CHECK(r.outcome.result == "SUCCESS");
  REQUIRE(host.notices.size() == 3);
  const auto& m = host.notices[0];
  CHECK(m.kind == "mail");
  CHECK(m.seq == 1);
  CHECK(host.notices[2].seq == 1);  // asked again with the same seq: read, not sent again
  CHECK(m.fields.at("to") == "a@example.com");
  CHECK(m.fields.at("cc") == "b@example.com");
  CHECK(m.fields.at("subject") == "Build 7");
  CHECK(m.fields.at("body") == "token ****");  // the job's secrets never leave in a message
  CHECK(m.fields.at("mimeType") == "text/html");
  CHECK(contains(r.log, "mail: charset ISO-8859-1 is not supported; the message is sent as UTF-8"));
  CHECK(contains(r.log, "mail: sent to a@example.com b@example.com (sent through channel 'rm')"));
}

TEST_CASE("a refused or failed message fails the step with the controller's reason", "[notify]") {
  TempDir ws;
  MemoryHost host;
  host.notify_replies = {
      {"refused", "no SMTP channel is configured under notifications: in the controller's config"}};
  JobRun r =
      run_job(make_spec(stage_pipeline("mail to: 'a@example.com', subject: 's', body: 'b'"), "S"),
              ws.str(), host);
  CHECK(r.outcome.result == "FAILURE");
  CHECK(r.outcome.reason ==
        "mail: no SMTP channel is configured under notifications: in the controller's config");

  MemoryHost failing;
  failing.notify_replies = {{"queued", ""}, {"failed", "smtp 127.0.0.1:25: 535 nope"}};
  JobRun f = run_job(make_spec(stage_pipeline("slackSend 'hello'"), "S"), ws.str(), failing);
  CHECK(f.outcome.reason == "slackSend: smtp 127.0.0.1:25: 535 nope");

  MemoryHost unused;
  JobRun missing = run_job(make_spec(stage_pipeline("mail to: 'a@example.com', body: 'b'"), "S"),
                           ws.str(), unused);
  // The pipeline's own check (the step's signature) catches it before the step runs.
  CHECK(contains(missing.outcome.reason,
                 "Missing required parameter: \"subject\" for step \"mail\""));
  CHECK(unused.notices.empty());
}

TEST_CASE("emailext sends its recipient providers by name and slackSend its channel", "[notify]") {
  TempDir ws;
  MemoryHost host;
  host.notify_replies = {{"sent", "sent through channel 'x'"}};
  JobRun r = run_job(make_spec(stage_pipeline(R"P(
        emailext subject: 's', body: 'b', recipientProviders: [developers(), [$class: 'RequesterRecipientProvider']], attachLog: true
        slackSend channel: '#builds', color: 'good', message: 'built', tokenCredentialId: 'slack'
        script {
          emailext subject: 's2', body: 'b2', to: 'c@example.com', recipientProviders: [culprits()]
        }
  )P"),
                               "S"),
                     ws.str(), host);
  INFO(r.log);
  CHECK(r.outcome.result == "SUCCESS");
  REQUIRE(host.notices.size() == 3);
  CHECK(host.notices[0].fields.at("recipientProviders") == "developers,requestor");
  CHECK(host.notices[1].kind == "slack");
  CHECK(host.notices[1].seq == 2);
  CHECK(host.notices[1].fields.at("channel") == "#builds");
  CHECK(host.notices[1].fields.at("color") == "good");
  CHECK(host.notices[1].fields.at("message") == "built");
  CHECK(host.notices[2].fields.at("recipientProviders") == "culprits");
  CHECK(host.notices[2].fields.at("to") == "c@example.com");
  CHECK(contains(r.log, "emailext: attachLog is not supported; ignored"));
  CHECK(contains(r.log, "slackSend: tokenCredentialId is ignored"));

  MemoryHost other;
  JobRun bad =
      run_job(make_spec(stage_pipeline("emailext subject: 's', body: 'b', recipientProviders: "
                                       "[[$class: 'UpstreamComitterRecipientProvider']]"),
                        "S"),
              ws.str(), other);
  CHECK(bad.outcome.reason ==
        "emailext: recipientProviders: 'UpstreamComitterRecipientProvider' is not supported "
        "(developers(), culprits() and requestor() are)");
}
