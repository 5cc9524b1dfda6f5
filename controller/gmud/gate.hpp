#pragma once
// The GMUD change-approval gate (SPEC §7) as a pure evaluator: given an
// environment's policy (from the controller config only, never from a
// pipeline), a change request with its decisions, the people who may act on
// it, the commit range it ships, and the time, it says whether the gated
// stage may go on and, when not, every reason, in words a release manager can
// act on: "needs 1 more approval from release-managers", "bob is ineligible:
// authored 3f2a1c0", "outside window, opens Tue 10:00 America/Sao_Paulo",
// "freeze until 2027-01-05".
//
// Rules: approvals count once per person, only from people with the approve
// permission in one of the approver groups who are neither the run's trigger,
// nor anyone else who set the change going (the trigger of a run it retries,
// a pusher a webhook named: matched by user name or e-mail), nor an author or
// committer of a commit in the range (matched by e-mail, without case). A
// request whose range is unknown (too long to compute, a base the mirror
// lacks) never opens: nobody can tell who is ineligible. A rejection ends the request. A request
// expires `expires_after` after it was opened. Windows are wall-clock ranges on days of the week in
// an IANA zone; freezes are absolute ranges. Fail closed: anything unknown (no approver group, an
// unknown zone) blocks.
//
// No I/O, no clock (now is passed in); thread-safe (pure functions over
// values). Parsing of window and freeze texts is here too, so the config
// reader and the tests share it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gantry/common/states.hpp"

namespace gantry::gmud {

using Clock = std::chrono::sys_seconds;

// "Tue-Thu 10:00-16:00 America/Sao_Paulo", "Mon,Wed,Fri 09:30-11:00 UTC",
// "* 22:00-02:00 Europe/Paris" (every day; an end before the start runs past
// midnight, the window belonging to the day it opens).
struct Window {
  std::string text;
  unsigned days = 0;  // bit 0 = Sunday .. bit 6 = Saturday
  int start = 0;      // minutes after local midnight
  int end = 0;        // exclusive; <= start: past midnight
  std::string zone;
};

// "2026-12-20T00:00:00Z/2027-01-05T00:00:00Z" (ISO 8601, `Z` or +hh:mm).
struct Freeze {
  std::string text;
  Clock from{}, until{};  // [from, until)
};

struct Policy {
  std::vector<std::string> approvers;  // groups
  int min_approvals = 1;
  std::vector<Window> windows;  // none: any time
  std::vector<Freeze> freezes;
  int64_t expires_after_s = 0;  // 0: never
  // The longest commit range a request may have and still be decided: past
  // it the range is unknown and the request blocks (`max_range`).
  int64_t max_range = 10000;
};

struct Person {
  std::string name;
  std::vector<std::string> groups, emails;
  bool may_approve = false;  // the role's `approve` permission
};

struct Commit {
  std::string sha, author_email, committer_email;
};

struct Decision {
  std::string user;
  bool approve = true;
  std::string comment;
  Clock at{};
};

// Someone who set the change going besides the run's trigger: the user who
// triggered a run this one retries, or the pusher a webhook named. `name`
// is matched against user names, `email` against their e-mails.
struct Instigator {
  std::string name, email;
  std::string what;  // "triggered run 12", "pushed 3f2a1c0"
};

struct Request {
  std::string triggered_by;  // the user who started the run ("" for a push)
  std::vector<Instigator> instigators;
  std::vector<Commit> range;  // the commits it ships
  std::string range_unknown;  // why the range is not known in full; "" when it is
  Clock requested_at{};
  std::vector<Decision> decisions;
  bool cancelled = false;
};

// What a request's decisions and clock make of it: a change request's status.
using State = ApprovalStatus;

struct Evaluation {
  State state = State::Pending;
  bool open = false;  // approved and, now, inside a window and outside every freeze
  int approvals = 0;  // that count
  std::vector<std::string> blocked_by;
};

std::variant<Window, std::string> parse_window(std::string_view text);
std::variant<Freeze, std::string> parse_freeze(std::string_view text);

// Why `who` may not approve (or reject) this request, or nullopt.
std::optional<std::string> ineligible(const Policy& policy, const Request& request,
                                      const Person& who);

// Whether the clock allows a deploy now (windows, freezes), with the reasons
// when not. Checked again when the stage starts and before a canary weight.
std::vector<std::string> time_blocks(const Policy& policy, Clock now);

Evaluation evaluate(const Policy& policy, const Request& request, const std::vector<Person>& people,
                    Clock now);

// What a deploy under this policy would meet, before any request exists
// (`gantry plan --env`, GET /api/v1/environments): the quorum and who may
// form it, the windows, freezes and expiry, and what the clock says now.
std::vector<std::string> explain_policy(const Policy& policy, const std::vector<Person>& people,
                                        Clock now);

}  // namespace gantry::gmud
