// The notifier in process (controller/service/notifier.hpp, notify_steps.hpp,
// notify_events.hpp): a real HTTP receiver on loopback (tests/support/hook_receiver.py) for
// deliveries, retries, permanent failures and the bounded queue; the step requests' checks and
// recipients; the messages made from records.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <thread>

#include "../support/py_server.hpp"
#include "gantry/protocol/codec.hpp"
#include "service/notifier.hpp"
#include "service/notify_events.hpp"
#include "service/notify_steps.hpp"

using namespace gantry::controller;
using gantry::ApprovalStatus;
using gantry::test::PyServer;
using nlohmann::json;

namespace {

NotificationChannel webhook(const PyServer& s, const std::string& path,
                            const std::string& name = "hook") {
  NotificationChannel c;
  c.name = name;
  c.kind = NotificationChannel::Kind::Webhook;
  c.url = "http://127.0.0.1:" + std::to_string(s.port()) + path;
  c.secret = "k3y";
  c.events = {"gmud.opened", "canary.rolled_back"};
  return c;
}

NotificationChannel smtp_channel(const std::string& name) {
  NotificationChannel c;
  c.name = name;
  c.kind = NotificationChannel::Kind::Smtp;
  c.smtp.host = "127.0.0.1";
  c.smtp.port = 1;  // nobody listens: nothing is ever delivered in these tests
  c.smtp.from = "gantry@example.com";
  c.smtp.security = "plain";
  return c;
}

NotifyEvent event(const std::string& name = "gmud.opened") {
  NotifyEvent e;
  e.event = name;
  e.subject = "GMUD-1 needs approval";
  e.text = "details";
  e.link = "/#/approvals/GMUD-1";
  e.fields = {{"gmud", "GMUD-1"}};
  return e;
}

template <class F>
bool eventually(F done, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

gantry::protocol::NotifyReply ask(Notifier& n, const RunRecord& run,
                                  const std::vector<UserConfig>& users, const std::string& kind,
                                  std::map<std::string, std::string> fields, uint64_t seq = 1) {
  gantry::protocol::Notify m{"job-1", 3, seq, kind, std::move(fields)};
  gantry::net::Response r =
      notify_step(n, "job-1", 3, run, users, gantry::protocol::encode_notify(m));
  REQUIRE(r.status == 200);
  auto reply = gantry::protocol::decode_notify_reply(r.body);
  REQUIRE(std::holds_alternative<gantry::protocol::NotifyReply>(reply));
  return std::get<gantry::protocol::NotifyReply>(reply);
}

}  // namespace

TEST_CASE("the notifier posts a signed webhook to each channel that hears the event",
          "[notifier]") {
  PyServer hooks("hook_receiver.py", "notifier-ok");
  Notifier n({webhook(hooks, "/a"), webhook(hooks, "/b", "other")});
  n.set_public_url("https://ci.example.com/");
  n.publish(event("run.failed"));  // nobody hears it
  n.publish(event());
  auto lines = hooks.wait_lines("requests.jsonl", 2, std::chrono::seconds(10));
  REQUIRE(lines.size() == 2);
  for (const std::string& line : lines) {
    json r = json::parse(line);
    const std::string body = r["body"];
    CHECK(r["headers"]["x-gantry-signature-256"] == webhook_signature("k3y", body));
    json j = json::parse(body);
    CHECK(j["event"] == "gmud.opened");
    CHECK(j["url"] == "https://ci.example.com/#/approvals/GMUD-1");
    CHECK(j["gmud"] == "GMUD-1");
  }
  CHECK(eventually([&] {
    return has(n.metrics_text(), "gantry_notifications_sent_total{channel=\"hook\"} 1\n") &&
           has(n.metrics_text(), "gantry_notifications_sent_total{channel=\"other\"} 1\n");
  }));
}

TEST_CASE("the notifier retries a 500 a bounded number of times and never retries a 404",
          "[notifier]") {
  PyServer hooks("hook_receiver.py", "notifier-retry");
  Notifier::Options o;
  o.max_attempts = 3;
  o.first_backoff = std::chrono::milliseconds(20);
  Notifier n({webhook(hooks, "/status/500"), webhook(hooks, "/status/404", "gone")}, o);
  n.publish(event());
  CHECK(eventually([&] {
    return has(n.metrics_text(), "gantry_notifications_failed_total{channel=\"hook\"} 1\n") &&
           has(n.metrics_text(), "gantry_notifications_failed_total{channel=\"gone\"} 1\n");
  }));
  auto lines = hooks.wait_lines("requests.jsonl", 4, std::chrono::seconds(2));
  size_t retried = 0, gone = 0;
  for (const std::string& l : lines) {
    retried += has(l, "/status/500");
    gone += has(l, "/status/404");
  }
  CHECK(retried == 3);
  CHECK(gone == 1);
}

TEST_CASE("the notifier drops the oldest message when its queue is full", "[notifier]") {
  PyServer hooks("hook_receiver.py", "notifier-full");
  Notifier::Options o;
  o.max_queue = 2;
  o.first_backoff = std::chrono::seconds(30);  // failed ones wait in the queue
  Notifier n({webhook(hooks, "/status/500")}, o);
  for (size_t i = 1; i <= 3; ++i) {
    n.publish(event());
    REQUIRE(hooks.wait_lines("requests.jsonl", i, std::chrono::seconds(10)).size() == i);
  }
  CHECK(eventually([&] {
    return has(n.metrics_text(), "gantry_notifications_dropped_total{channel=\"hook\"} 1");
  }));
}

TEST_CASE("a step's message goes to the channel of its kind or is refused clearly", "[notifier]") {
  Notifier::Options o;
  o.first_backoff = std::chrono::seconds(30);
  Notifier none({}, o);
  RunRecord run;
  run.id = 5;
  run.created_by = "ada";
  run.author_email = "tess@example.com";
  run.changes.push_back(ChangeRecord{"abc", "Tess", "tess@example.com", "", "", "m", 0, {}});
  run.changes.push_back(ChangeRecord{"def", "Bo", "bo@example.com", "", "", "m", 0, {}});
  std::vector<UserConfig> users = {{"ada", "admin", {}, {"ada@example.com"}, ""}};

  auto r = ask(none, run, users, "mail", {{"to", "a@example.com"}, {"subject", "s"}});
  CHECK(r.status == "refused");
  CHECK(r.message ==
        "no SMTP channel is configured under notifications: in the controller's config");
  r = ask(none, run, users, "slack", {{"message", "hi"}});
  CHECK(r.message ==
        "no Slack channel is configured under notifications: in the controller's config");

  Notifier n({smtp_channel("first"), smtp_channel("second")}, o);
  r = ask(n, run, users, "mail", {{"to", "a@example.com, B <b@example.com>"}, {"subject", "s"}});
  CHECK(r.status == "queued");
  CHECK(r.message == "queued for channel 'first'");
  // Asked again: how it fares, never queued twice.
  r = ask(n, run, users, "mail", {{"to", "a@example.com"}, {"subject", "s"}});
  CHECK(r.status == "queued");
  CHECK(n.outcome("job-1@3#1").channel == "first");

  r = ask(n, run, users, "mail", {{"to", "a@example.com"}, {"channel", "second"}}, 2);
  CHECK(r.message == "queued for channel 'second'");
  r = ask(n, run, users, "mail", {{"to", "a@example.com"}, {"channel", "third"}}, 3);
  CHECK(r.message == "no channel named 'third' under notifications: in the controller's config");
  r = ask(n, run, users, "slack", {{"message", "x"}, {"notifier", "first"}}, 4);
  CHECK(r.message == "channel 'first' is not a Slack channel");
  r = ask(n, run, users, "mail", {{"to", "nobody"}}, 5);
  CHECK(r.message == "mail: to: 'nobody' is not an e-mail address");
  r = ask(n, run, users, "mail", {{"to", "a@example.com"}, {"mimeType", "image/png"}}, 6);
  CHECK(r.message == "mail: mimeType must be text/plain or text/html, not 'image/png'");
  r = ask(n, run, users, "mail", {{"subject", "s"}}, 7);
  CHECK(r.message == "mail: no recipient (to, cc and bcc are empty)");
  r = ask(n, run, users, "mail", {{"to", "a@example.com"}, {"subject", std::string(1001, 'x')}}, 8);
  CHECK(r.message == "mail: the subject is longer than 1000 bytes");
  r = ask(n, run, users, "fax", {}, 9);
  CHECK(r.message == "unknown notify kind 'fax' (mail or slack)");

  // emailext's providers: the commits' authors and the trigger's e-mails.
  r = ask(n, run, users, "mail", {{"recipientProviders", "developers,requestor"}}, 10);
  CHECK(r.status == "queued");
  r = ask(n, run, users, "mail", {{"recipientProviders", "upstreamDevelopers"}}, 11);
  CHECK(r.message ==
        "emailext: recipientProviders: 'upstreamDevelopers' is not supported (developers(), "
        "culprits() and requestor() are)");
  RunRecord pushed;
  r = ask(n, pushed, users, "mail", {{"recipientProviders", "requestor"}}, 12);
  CHECK(r.status == "skipped");

  // The body must name the attempt it was sent to.
  gantry::protocol::Notify other{"job-2", 3, 1, "mail", {}};
  gantry::net::Response wrong =
      notify_step(n, "job-1", 3, run, users, gantry::protocol::encode_notify(other));
  CHECK(wrong.status == 400);
}

TEST_CASE("split_addresses keeps names and refuses what is not an address", "[notifier]") {
  std::vector<std::string> out;
  std::string error;
  CHECK(split_addresses("a@x.org, Bo Li <bo@x.org>;c@x.org d@x.org a@x.org", out, error));
  CHECK(out == std::vector<std::string>{"a@x.org", "Bo Li <bo@x.org>", "c@x.org", "d@x.org"});
  out.clear();
  CHECK_FALSE(split_addresses("a@x.org, <broken", out, error));
  CHECK(error == "'<broken' is not an e-mail address");
}

TEST_CASE("a GMUD's message says what needs approval and links to it", "[notifier]") {
  ApprovalRecord a;
  a.id = 3;
  a.run_id = 12;
  a.stage_id = "Deploy";
  a.environment = "production";
  a.repo = "app";
  a.commit = "3f2a1c0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  a.required = 2;
  a.title = "Checkout v2";
  a.base_release = 4;
  a.requested_at = 1767225600000;
  a.expires_at = 1767312000000;
  a.changes.push_back(ChangeRecord{
      "3f2a1c0aaaaa", "Tess", "t@example.com", "", "", "Faster checkout\n\nbody", 0, {}});
  NotifyEvent e = gmud_event(a);
  CHECK(e.event == "gmud.opened");
  CHECK(e.subject == "GMUD-3 needs approval: app to production (run 12)");
  CHECK(e.link == "/#/approvals/GMUD-3");
  CHECK(has(e.text, "Range:          1 commit not yet in production (since R-4)\n"));
  CHECK(has(e.text, "Approvals:      0 given, 2 needed\n"));
  CHECK(has(e.text, "Requested:      2026-01-01 00:00:00 UTC\n"));
  CHECK(has(e.text, "Expires:        2026-01-02 00:00:00 UTC\n"));
  CHECK(has(e.text, "  3f2a1c0aaa Tess <t@example.com>: Faster checkout\n"));
  CHECK(e.fields.at("commits") == "1");

  a.range_unknown = "more than 1000 commits";
  a.status = ApprovalStatus::Rejected;
  a.reason = "GMUD-3 rejected by rita: not today";
  e = gmud_event(a);
  CHECK(e.event == "gmud.rejected");
  CHECK(e.text.starts_with("GMUD-3 rejected by rita: not today\n"));
  CHECK(has(e.text, "Range:          not known in full: more than 1000 commits\n"));
  a.status = ApprovalStatus::Cancelled;
  CHECK(gmud_event(a).event.empty());
}

TEST_CASE("an input's message says who waits and how to answer", "[notifier]") {
  ApprovalRecord a;
  a.id = 5;
  a.kind = gantry::GateKind::Input;
  a.run_id = 12;
  a.stage_id = "Ask";
  a.repo = "app";
  a.message = "Ship it?\nto beta";
  a.submitter = "rita";
  a.requested_at = 1767225600000;
  RunRecord run;
  run.id = 12;
  run.job_name = "app/main";
  run.number = 3;
  run.repo_name = "app";
  NotifyEvent e = input_event(a, &run);
  CHECK(e.event == "input.opened");
  CHECK(e.subject == "INPUT-5 waits for input: Ship it? (app, run 12)");
  CHECK(e.link == "/#/approvals/INPUT-5");
  CHECK(has(e.text, "Run:            12 (app/main #3)\n"));
  CHECK(has(e.text, "Who may answer: rita\n"));
  CHECK(has(e.text, "gantry approve INPUT-5"));
  CHECK(e.fields.at("input") == "INPUT-5");
}
