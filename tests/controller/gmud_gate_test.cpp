// The GMUD gate evaluator with an injected clock: quorum, eligibility,
// rejection, expiry, windows in IANA zones (daylight saving included),
// freezes, and the texts that explain a block.
#include "gmud/gate.hpp"

#include <catch2/catch.hpp>

using namespace gantry::gmud;
using namespace std::chrono;

namespace {

Clock at(year_month_day ymd, int hour, int minute = 0) {
  return Clock{sys_days{ymd}} + hours{hour} + minutes{minute};
}

Window window(std::string_view text) {
  auto w = parse_window(text);
  if (auto* e = std::get_if<std::string>(&w)) FAIL(*e);
  return std::get<Window>(w);
}

Freeze freeze(std::string_view text) {
  auto f = parse_freeze(text);
  if (auto* e = std::get_if<std::string>(&f)) FAIL(*e);
  return std::get<Freeze>(f);
}

std::string window_error(std::string_view text) {
  auto w = parse_window(text);
  REQUIRE(std::holds_alternative<std::string>(w));
  return std::get<std::string>(w);
}

Person manager(const std::string& name) {
  return Person{name, {"release-managers"}, {name + "@example.com"}, true};
}

const std::vector<Person> kPeople = {
    manager("alice"),
    manager("bob"),
    manager("carol"),
    Person{"dave", {"release-managers"}, {"dave@example.com"}, false},  // a developer
    Person{"erin", {"sre"}, {"erin@example.com"}, true},                // not an approver group
};

Policy two_of_release_managers() {
  Policy p;
  p.approvers = {"release-managers"};
  p.min_approvals = 2;
  p.expires_after_s = 24 * 3600;
  return p;
}

// Bob wrote the change; a bot committed it.
Request request_by_bob() {
  Request r;
  r.triggered_by = "";
  r.range = {{"3f2a1c0aa9f8e7d6c5b4a3f2a1c0aa9f8e7d6c5b", "bob@example.com", "ci@example.com"}};
  r.requested_at = at(2026y / November / 24, 12);
  return r;
}

Decision approve(const std::string& user) {
  return {user, true, "", at(2026y / November / 24, 13)};
}

const Clock kNoon = at(2026y / November / 24, 14);

}  // namespace

TEST_CASE("gmud: the quorum counts distinct eligible approvers") {
  Policy p = two_of_release_managers();
  Request r = request_by_bob();
  Evaluation e = evaluate(p, r, kPeople, kNoon);
  CHECK(e.state == State::Pending);
  CHECK_FALSE(e.open);
  CHECK(e.blocked_by == std::vector<std::string>{"needs 2 more approvals from release-managers",
                                                 "bob is ineligible: authored 3f2a1c0"});
  r.decisions = {approve("alice"), approve("alice")};
  e = evaluate(p, r, kPeople, kNoon);
  CHECK(e.approvals == 1);
  CHECK(e.blocked_by.front() == "needs 1 more approval from release-managers");
  // The author's approval does not count, and says why.
  r.decisions.push_back(approve("bob"));
  e = evaluate(p, r, kPeople, kNoon);
  CHECK(e.approvals == 1);
  CHECK(std::find(e.blocked_by.begin(), e.blocked_by.end(),
                  "the decision of bob does not count: bob is ineligible: authored 3f2a1c0") !=
        e.blocked_by.end());
  r.decisions.push_back(approve("carol"));
  e = evaluate(p, r, kPeople, kNoon);
  CHECK(e.state == State::Approved);
  CHECK(e.open);
  CHECK(e.approvals == 2);
  CHECK(e.blocked_by.empty());
}

TEST_CASE("gmud: who is eligible") {
  Policy p = two_of_release_managers();
  Request r = request_by_bob();
  CHECK_FALSE(ineligible(p, r, kPeople[0]));
  CHECK(ineligible(p, r, kPeople[1]) == "bob is ineligible: authored 3f2a1c0");
  CHECK(ineligible(p, r, kPeople[3]) == "dave may not approve (their role lacks 'approve')");
  CHECK(ineligible(p, r, kPeople[4]) == "erin is not in release-managers");
  // The run's trigger, and a committer matched by e-mail without case.
  r.triggered_by = "alice";
  CHECK(ineligible(p, r, kPeople[0]) == "alice is ineligible: triggered the run");
  r.triggered_by.clear();
  r.range.push_back(
      {"9c8b7a6000000000000000000000000000000000", "x@example.com", "CAROL@Example.com"});
  CHECK(ineligible(p, r, kPeople[2]) == "carol is ineligible: committed 9c8b7a6");
  // Too few eligible people left for the quorum is said too.
  p.min_approvals = 2;
  Evaluation e = evaluate(p, r, kPeople, kNoon);
  CHECK(e.blocked_by.back() == "only 1 eligible approver left to decide");
}

TEST_CASE("gmud: a rejection ends the request, expiry, cancellation") {
  Policy p = two_of_release_managers();
  Request r = request_by_bob();
  r.decisions = {approve("alice"), {"carol", false, "not during the sale", kNoon}};
  Evaluation e = evaluate(p, r, kPeople, kNoon);
  CHECK(e.state == State::Rejected);
  CHECK(e.blocked_by == std::vector<std::string>{"rejected by carol: not during the sale"});
  // A rejection by someone ineligible does not end it.
  r.decisions = {{"bob", false, "mine", kNoon}};
  CHECK(evaluate(p, r, kPeople, kNoon).state == State::Pending);

  r.decisions.clear();
  e = evaluate(p, r, kPeople, at(2026y / November / 25, 12));
  CHECK(e.state == State::Expired);
  CHECK(e.blocked_by == std::vector<std::string>{"expired at 2026-11-25T12:00:00Z"});
  CHECK(evaluate(p, r, kPeople, at(2026y / November / 25, 11, 59)).state == State::Pending);
  r.cancelled = true;
  CHECK(evaluate(p, r, kPeople, kNoon).state == State::Cancelled);
}

TEST_CASE("gmud: fail closed when no approver group is configured") {
  Policy p;
  p.min_approvals = 1;
  Request r = request_by_bob();
  r.decisions = {approve("alice")};
  Evaluation e = evaluate(p, r, kPeople, kNoon);
  CHECK_FALSE(e.open);
  CHECK(e.state == State::Pending);
  CHECK(e.blocked_by.front() == "no approver group is configured for this environment");
}

TEST_CASE("gmud: whoever set the change going is ineligible: earlier triggers and pushers") {
  Policy p = two_of_release_managers();
  Request r = request_by_bob();
  // carol retried alice's run: alice stays ineligible, by name.
  r.triggered_by = "carol";
  r.instigators = {{"alice", "", "triggered run 12, which this run retries"}};
  CHECK(ineligible(p, r, kPeople[0]) ==
        "alice is ineligible: triggered run 12, which this run retries");
  CHECK(ineligible(p, r, kPeople[2]) == "carol is ineligible: triggered the run");
  // A pusher from a webhook, matched by e-mail without case.
  r.instigators = {{"not-a-user", "ALICE@example.com", "pushed 3f2a1c0"}};
  CHECK(ineligible(p, r, kPeople[0]) == "alice is ineligible: pushed 3f2a1c0");
  r.decisions = {approve("alice"), approve("bob")};
  Evaluation e = evaluate(p, r, kPeople, kNoon);
  CHECK(e.approvals == 0);
  CHECK(e.state == State::Pending);
}

TEST_CASE("gmud: a range that is not known in full never opens") {
  Policy p = two_of_release_managers();
  p.min_approvals = 1;
  Request r = request_by_bob();
  r.range_unknown = "more than 10000 commits";
  r.decisions = {approve("alice"), approve("carol")};
  Evaluation e = evaluate(p, r, kPeople, kNoon);
  CHECK(e.state == State::Pending);
  CHECK_FALSE(e.open);
  CHECK(e.blocked_by.front() ==
        "the commit range is unknown, so who may approve is unknown: more than 10000 commits");
  r.range_unknown.clear();
  CHECK(evaluate(p, r, kPeople, kNoon).open);
}

TEST_CASE("gmud: windows are wall-clock ranges in their zone") {
  Policy p;
  p.windows = {window("Tue-Thu 10:00-16:00 America/Sao_Paulo")};  // UTC-3
  CHECK(time_blocks(p, at(2026y / November / 24, 13)).empty());   // Tue 10:00 there
  CHECK(time_blocks(p, at(2026y / November / 24, 12, 59)) ==
        std::vector<std::string>{"outside window, opens Tue 10:00 America/Sao_Paulo"});
  CHECK(time_blocks(p, at(2026y / November / 26, 18, 59)).empty());  // Thu 15:59
  CHECK(time_blocks(p, at(2026y / November / 26, 19)) ==
        std::vector<std::string>{"outside window, opens Tue 10:00 America/Sao_Paulo"});
  CHECK(time_blocks(p, at(2026y / November / 28, 15)) ==  // Saturday
        std::vector<std::string>{"outside window, opens Tue 10:00 America/Sao_Paulo"});
  CHECK(time_blocks(p, at(2026y / November / 25, 20)) ==  // Wed 17:00 -> Thu
        std::vector<std::string>{"outside window, opens Thu 10:00 America/Sao_Paulo"});
  // Several windows: inside any is enough; outside all lists each opening.
  p.windows.push_back(window("Sat 08:00-09:00 UTC"));
  CHECK(time_blocks(p, at(2026y / November / 28, 8, 30)).empty());
  CHECK(time_blocks(p, at(2026y / November / 27, 12)) ==
        std::vector<std::string>{
            "outside window, opens Tue 10:00 America/Sao_Paulo or Sat 08:00 UTC"});
}

TEST_CASE("gmud: windows across daylight saving and midnight") {
  Policy p;
  p.windows = {window("Mon-Fri 09:00-17:00 America/New_York")};
  // EST (UTC-5) on Friday 2026-03-06, EDT (UTC-4) from Sunday 2026-03-08.
  CHECK_FALSE(time_blocks(p, at(2026y / March / 6, 13)).empty());  // 08:00 EST
  CHECK(time_blocks(p, at(2026y / March / 6, 14)).empty());        // 09:00 EST
  CHECK(time_blocks(p, at(2026y / March / 9, 13)).empty());        // 09:00 EDT
  CHECK_FALSE(time_blocks(p, at(2026y / March / 9, 21)).empty());  // 17:00 EDT
  // After falling back (2026-11-01) 09:00 is 14:00 UTC again.
  CHECK_FALSE(time_blocks(p, at(2026y / November / 2, 13)).empty());
  CHECK(time_blocks(p, at(2026y / November / 2, 14)).empty());

  p.windows = {window("Fri 22:00-02:00 UTC")};                      // runs past midnight
  CHECK(time_blocks(p, at(2026y / November / 27, 23)).empty());     // Fri 23:00
  CHECK(time_blocks(p, at(2026y / November / 28, 1, 59)).empty());  // Sat 01:59
  CHECK_FALSE(time_blocks(p, at(2026y / November / 28, 2)).empty());
  CHECK_FALSE(time_blocks(p, at(2026y / November / 26, 23)).empty());  // Thu
  CHECK(time_blocks(p, at(2026y / November / 26, 23)) ==
        std::vector<std::string>{"outside window, opens Fri 22:00 UTC"});
}

TEST_CASE("gmud: freezes hold an approved change until they end") {
  Policy p = two_of_release_managers();
  p.freezes = {freeze("2026-12-20T00:00:00Z/2027-01-05T00:00:00Z")};
  Request r = request_by_bob();
  r.requested_at = at(2026y / December / 24, 10);
  r.decisions = {approve("alice"), approve("carol")};
  Evaluation e = evaluate(p, r, kPeople, at(2026y / December / 24, 12));
  CHECK(e.state == State::Approved);
  CHECK_FALSE(e.open);
  CHECK(e.blocked_by == std::vector<std::string>{"freeze until 2027-01-05"});
  p.expires_after_s = 0;
  CHECK(evaluate(p, r, kPeople, at(2027y / January / 5, 0)).open);
  CHECK_FALSE(evaluate(p, r, kPeople, at(2027y / January / 4, 23, 59)).open);
  // An offset is honoured; an end that is not midnight shows the time.
  Freeze f = freeze("2026-12-20T00:00:00-03:00/2026-12-21T06:30:00Z");
  CHECK(f.from == at(2026y / December / 20, 3));
  p.freezes = {f};
  CHECK(time_blocks(p, at(2026y / December / 21, 6)) ==
        std::vector<std::string>{"freeze until 2026-12-21T06:30:00Z"});
}

TEST_CASE("gmud: window and freeze texts are checked with a clear error") {
  CHECK(window_error("Tue-Thu 10:00-16:00").find("expected DAYS HH:MM-HH:MM ZONE") !=
        std::string::npos);
  CHECK(window_error("Tue-Thu 10:00 America/Sao_Paulo") ==
        "window \"Tue-Thu 10:00 America/Sao_Paulo\": expected HH:MM-HH:MM, got \"10:00\"");
  CHECK(window_error("Tue-Xyz 10:00-16:00 UTC") ==
        "window \"Tue-Xyz 10:00-16:00 UTC\": unknown days \"Tue-Xyz\" (use Mon-Fri, Sat,Sun or *)");
  CHECK(window_error("Mon 25:00-26:00 UTC").find("expected HH:MM-HH:MM") != std::string::npos);
  CHECK(window_error("Mon 10:00-10:00 UTC").find("empty") != std::string::npos);
  CHECK(window_error("Mon 10:00-16:00 Mars/Olympus").find("unknown time zone") !=
        std::string::npos);
  Window w = window("Fri-Mon 00:00-24:00 UTC");  // wraps the week; a whole day
  CHECK(w.days == 0b1100011u);                   // Sun, Mon, Fri, Sat
  CHECK(w.end == 24 * 60);
  CHECK(window("* 09:00-10:00 UTC").days == 0x7fu);
  CHECK(window("mon,wed,FRI 09:00-10:00 UTC").days == 0b0101010u);

  auto bad = parse_freeze("2026-12-20/2027-01-05");
  REQUIRE(std::holds_alternative<std::string>(bad));
  CHECK(std::get<std::string>(bad).find("expected YYYY-MM-DDTHH:MM:SS") != std::string::npos);
  auto reversed = parse_freeze("2027-01-05T00:00:00Z/2026-12-20T00:00:00Z");
  REQUIRE(std::holds_alternative<std::string>(reversed));
  CHECK(std::get<std::string>(reversed).find("the end is not after the start") !=
        std::string::npos);
  CHECK(std::holds_alternative<std::string>(
      parse_freeze("2026-02-30T00:00:00Z/2027-01-05T00:00:00Z")));
}

TEST_CASE("explain_policy says what a deploy would meet before any request exists") {
  Policy p;
  p.approvers = {"release-managers"};
  p.min_approvals = 2;
  p.windows = {window("Tue-Thu 10:00-16:00 America/Sao_Paulo")};
  p.freezes = {freeze("2026-12-20T00:00:00Z/2027-01-05T00:00:00Z")};
  p.expires_after_s = 86400;
  std::vector<Person> people = {manager("alice"), manager("bob"),
                                Person{"olga", {"release-managers"}, {}, false}};
  // Wednesday 2 December 2026, 08:00 UTC = 05:00 in Sao Paulo.
  std::vector<std::string> lines = explain_policy(p, people, at(2026y / December / 2, 8));
  REQUIRE(lines.size() == 6);
  CHECK(lines[0] ==
        "needs 2 approvals from release-managers (may approve: alice, bob; never the run's "
        "trigger, the trigger of a run it retries, its pusher, or an author or committer of the "
        "change)");
  CHECK(lines[1] ==
        "the range is every commit not yet in a succeeded release here; a range of more than "
        "10000 commits, or one that cannot be read, blocks");
  CHECK(lines[2] == "window Tue-Thu 10:00-16:00 America/Sao_Paulo");
  CHECK(lines[3] == "freeze 2026-12-20 to 2027-01-05");
  CHECK(lines[4] == "a request expires 24h after it is opened");
  CHECK(lines[5] == "now: outside window, opens Wed 10:00 America/Sao_Paulo");
  // Inside the window, and once the freeze has passed it is not listed.
  lines = explain_policy(p, people, at(2027y / January / 6, 14));
  CHECK(lines.back() == "now: a deploy may start (inside a window, outside every freeze)");
  CHECK(lines.size() == 5);
  // Too few people can ever approve.
  p.min_approvals = 3;
  lines = explain_policy(p, people, at(2027y / January / 6, 14));
  CHECK(lines[1] == "only 2 users may approve: the quorum cannot be met");
}
