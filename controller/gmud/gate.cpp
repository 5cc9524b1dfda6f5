#include "gmud/gate.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

#include "gantry/common/time_zone.hpp"

namespace gantry::gmud {

namespace {

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr size_t kMaxText = 200;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(sep, i);
    if (j == std::string_view::npos) j = s.size();
    parts.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  for (std::string_view w : split(s, ' ')) {
    if (!w.empty()) out.push_back(w);
  }
  return out;
}

int day_index(std::string_view name) {
  for (int i = 0; i < 7; ++i) {
    if (lower(name) == lower(kDays[i])) return i;
  }
  return -1;
}

// A fixed number of digits; -1 when not.
int digits(std::string_view s, size_t n) {
  if (s.size() != n) return -1;
  int v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

// "HH:MM" -> minutes; 24:00 only when `end`.
int clock_minutes(std::string_view s, bool end) {
  if (s.size() != 5 || s[2] != ':') return -1;
  int h = digits(s.substr(0, 2), 2), m = digits(s.substr(3), 2);
  if (h < 0 || m < 0 || m > 59) return -1;
  if (h == 24 && m == 0 && end) return 24 * 60;
  return h > 23 ? -1 : h * 60 + m;
}

std::string hhmm(int minutes) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minutes / 60 % 24, minutes % 60);
  return buf;
}

std::string short_sha(const std::string& sha) {
  return sha.substr(0, 7);
}

// "2027-01-05" at midnight UTC, else "2027-01-05T12:30:00Z".
std::string format_time(Clock t) {
  auto day = std::chrono::floor<std::chrono::days>(t);
  std::chrono::year_month_day ymd{day};
  auto secs = (t - day).count();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  std::string out = buf;
  if (secs != 0) {
    std::snprintf(buf, sizeof buf, "T%02lld:%02lld:%02lldZ", static_cast<long long>(secs / 3600),
                  static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
    out += buf;
  }
  return out;
}

std::optional<Clock> parse_instant(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS then Z or +hh:mm / -hh:mm
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':')
    return std::nullopt;
  int y = digits(s.substr(0, 4), 4), mo = digits(s.substr(5, 2), 2), d = digits(s.substr(8, 2), 2);
  int h = digits(s.substr(11, 2), 2), mi = digits(s.substr(14, 2), 2);
  int sec = digits(s.substr(17, 2), 2);
  if (y < 0 || mo < 1 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
    return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year{y},
                                  std::chrono::month{static_cast<unsigned>(mo)},
                                  std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  int64_t offset = 0;
  std::string_view zone = s.substr(19);
  if (zone == "Z" || zone == "z") {
    offset = 0;
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int oh = digits(zone.substr(1, 2), 2), om = digits(zone.substr(4, 2), 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return std::nullopt;
    offset = int64_t{zone[0] == '+' ? 1 : -1} * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  return Clock{std::chrono::sys_days{ymd}} +
         std::chrono::seconds(h * 3600 + mi * 60 + sec - offset);
}

bool has_day(unsigned days, int d) {
  return (days >> ((d + 7) % 7) & 1U) != 0;
}

bool inside(const Window& w, const CivilMinute& m) {
  int now = m.hour * 60 + m.minute;
  if (w.end > w.start) return has_day(w.days, m.weekday) && now >= w.start && now < w.end;
  return (has_day(w.days, m.weekday) && now >= w.start) ||
         (has_day(w.days, m.weekday - 1) && now < w.end);
}

// "Tue 10:00 America/Sao_Paulo": the next time the window opens, local.
std::string next_opening(const Window& w, const CivilMinute& m) {
  int now = m.hour * 60 + m.minute;
  for (int d = 0; d <= 7; ++d) {
    int day = (m.weekday + d) % 7;
    if (has_day(w.days, day) && (d > 0 || w.start > now))
      return std::string(kDays[day]) + " " + hhmm(w.start) + " " + w.zone;
  }
  return "never";
}

bool in_any_group(const Person& p, const std::vector<std::string>& groups) {
  return std::any_of(groups.begin(), groups.end(), [&](const std::string& g) {
    return std::find(p.groups.begin(), p.groups.end(), g) != p.groups.end();
  });
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

// Why the commits of the range make `who` ineligible, or "".
std::string range_conflict(const Request& request, const Person& who) {
  if (!who.name.empty() && who.name == request.triggered_by) return "triggered the run";
  for (const Instigator& i : request.instigators) {
    if (!who.name.empty() && who.name == i.name) return i.what;
    for (const std::string& email : who.emails) {
      if (!email.empty() && lower(email) == lower(i.email)) return i.what;
    }
  }
  for (const Commit& c : request.range) {
    for (const std::string& email : who.emails) {
      if (!email.empty() && lower(email) == lower(c.author_email))
        return "authored " + short_sha(c.sha);
      if (!email.empty() && lower(email) == lower(c.committer_email))
        return "committed " + short_sha(c.sha);
    }
  }
  return "";
}

}  // namespace

std::variant<Window, std::string> parse_window(std::string_view text) {
  const std::string quoted = "window \"" + std::string(text.substr(0, kMaxText)) + "\": ";
  std::vector<std::string_view> w = words(text);
  if (text.size() > kMaxText || w.size() != 3)
    return quoted +
           "expected DAYS HH:MM-HH:MM ZONE, e.g. \"Tue-Thu 10:00-16:00 America/Sao_Paulo\"";
  Window out;
  out.text = std::string(text);
  if (w[0] == "*") {
    out.days = 0x7f;
  } else {
    for (std::string_view item : split(w[0], ',')) {
      std::vector<std::string_view> range = split(item, '-');
      int from = day_index(range[0]);
      int to = range.size() == 2 ? day_index(range[1]) : from;
      if (range.size() > 2 || from < 0 || to < 0)
        return quoted + "unknown days \"" + std::string(item) + "\" (use Mon-Fri, Sat,Sun or *)";
      for (int d = from;; d = (d + 1) % 7) {
        out.days |= 1U << d;
        if (d == to) break;
      }
    }
  }
  std::vector<std::string_view> times = split(w[1], '-');
  out.start = times.size() == 2 ? clock_minutes(times[0], false) : -1;
  out.end = times.size() == 2 ? clock_minutes(times[1], true) : -1;
  if (out.start < 0 || out.end < 0)
    return quoted + "expected HH:MM-HH:MM, got \"" + std::string(w[1]) + "\"";
  if (out.start == out.end % (24 * 60) && out.end != 24 * 60)
    return quoted + "the window is empty (start equals end)";
  out.zone = std::string(w[2]);
  if (!valid_time_zone(out.zone))
    return quoted + "unknown time zone \"" + out.zone + "\" (an IANA name, e.g. Europe/Paris)";
  return out;
}

std::variant<Freeze, std::string> parse_freeze(std::string_view text) {
  const std::string quoted = "freeze \"" + std::string(text.substr(0, kMaxText)) + "\": ";
  std::vector<std::string_view> parts = split(text, '/');
  if (text.size() > kMaxText || parts.size() != 2)
    return quoted +
           "expected START/END in ISO 8601, e.g. 2026-12-20T00:00:00Z/2027-01-05T00:00:00Z";
  auto from = parse_instant(parts[0]), until = parse_instant(parts[1]);
  if (!from || !until)
    return quoted + "expected YYYY-MM-DDTHH:MM:SS with Z or an offset like -03:00";
  if (*until <= *from) return quoted + "the end is not after the start";
  return Freeze{std::string(text), *from, *until};
}

std::optional<std::string> ineligible(const Policy& policy, const Request& request,
                                      const Person& who) {
  if (!who.may_approve) return who.name + " may not approve (their role lacks 'approve')";
  if (!in_any_group(who, policy.approvers))
    return who.name + " is not in " +
           (policy.approvers.empty() ? std::string("an approver group")
                                     : join(policy.approvers, " or "));
  std::string conflict = range_conflict(request, who);
  if (!conflict.empty()) return who.name + " is ineligible: " + conflict;
  return std::nullopt;
}

std::vector<std::string> time_blocks(const Policy& policy, Clock now) {
  std::vector<std::string> out;
  for (const Freeze& f : policy.freezes) {
    if (now >= f.from && now < f.until) out.push_back("freeze until " + format_time(f.until));
  }
  if (policy.windows.empty()) return out;
  std::vector<std::string> openings;
  for (const Window& w : policy.windows) {
    auto local = civil_minute(now, w.zone);
    if (!local) {
      out.push_back("window \"" + w.text + "\" has an unknown time zone");
      return out;
    }
    if (inside(w, *local)) return out;
    openings.push_back(next_opening(w, *local));
  }
  out.push_back("outside window, opens " + join(openings, " or "));
  return out;
}

std::vector<std::string> explain_policy(const Policy& policy, const std::vector<Person>& people,
                                        Clock now) {
  std::vector<std::string> out;
  const int needed = std::max(policy.min_approvals, 1);
  std::vector<std::string> may;
  for (const Person& p : people) {
    if (p.may_approve && in_any_group(p, policy.approvers)) may.push_back(p.name);
  }
  if (policy.approvers.empty()) {
    out.push_back("no approver group is configured: every deploy is blocked");
  } else {
    out.push_back("needs " + std::to_string(needed) + " approval" + (needed == 1 ? "" : "s") +
                  " from " + join(policy.approvers, " or ") +
                  " (may approve: " + (may.empty() ? std::string("nobody") : join(may, ", ")) +
                  "; never the run's trigger, the trigger of a run it retries, its pusher, or an "
                  "author or committer of the change)");
    if (static_cast<int>(may.size()) < needed)
      out.push_back("only " + std::to_string(may.size()) + " user" + (may.size() == 1 ? "" : "s") +
                    " may approve: the quorum cannot be met");
  }
  out.push_back(
      "the range is every commit not yet in a succeeded release here; a range of more "
      "than " +
      std::to_string(policy.max_range) + " commits, or one that cannot be read, blocks");
  for (const Window& w : policy.windows) out.push_back("window " + w.text);
  for (const Freeze& f : policy.freezes) {
    if (now < f.until)
      out.push_back("freeze " + format_time(f.from) + " to " + format_time(f.until));
  }
  if (const int64_t s = policy.expires_after_s; s > 0) {
    std::string d = s % 3600 == 0 ? std::to_string(s / 3600) + "h"
                    : s % 60 == 0 ? std::to_string(s / 60) + "m"
                                  : std::to_string(s) + "s";
    out.push_back("a request expires " + d + " after it is opened");
  }
  std::vector<std::string> clock = time_blocks(policy, now);
  if (clock.empty()) {
    out.push_back("now: a deploy may start (inside a window, outside every freeze)");
  } else {
    for (const std::string& c : clock) out.push_back("now: " + c);
  }
  return out;
}

Evaluation evaluate(const Policy& policy, const Request& request, const std::vector<Person>& people,
                    Clock now) {
  Evaluation ev;
  auto person = [&](const std::string& name) -> const Person* {
    for (const Person& p : people) {
      if (p.name == name) return &p;
    }
    return nullptr;
  };
  std::set<std::string> approvers_counted;
  std::vector<std::string> notes;
  for (const Decision& d : request.decisions) {
    const Person* p = person(d.user);
    std::optional<std::string> why =
        p ? ineligible(policy, request, *p) : std::optional<std::string>(d.user + " is not a user");
    if (why) {
      notes.push_back("the decision of " + d.user + " does not count: " + *why);
      continue;
    }
    if (!d.approve) {
      ev.state = State::Rejected;
      ev.blocked_by.push_back("rejected by " + d.user + ": " + d.comment);
      return ev;
    }
    approvers_counted.insert(d.user);
  }
  ev.approvals = static_cast<int>(approvers_counted.size());
  if (request.cancelled) {
    ev.state = State::Cancelled;
    ev.blocked_by.push_back("cancelled with its run");
    return ev;
  }
  if (policy.expires_after_s > 0 &&
      now >= request.requested_at + std::chrono::seconds(policy.expires_after_s)) {
    ev.state = State::Expired;
    ev.blocked_by.push_back(
        "expired at " +
        format_time(request.requested_at + std::chrono::seconds(policy.expires_after_s)));
    return ev;
  }
  const int needed = std::max(policy.min_approvals, 1);
  if (!request.range_unknown.empty()) {
    ev.blocked_by.push_back("the commit range is unknown, so who may approve is unknown: " +
                            request.range_unknown);
  } else if (policy.approvers.empty()) {
    ev.blocked_by.push_back("no approver group is configured for this environment");
  } else if (ev.approvals < needed) {
    int more = needed - ev.approvals;
    ev.blocked_by.push_back("needs " + std::to_string(more) + " more approval" +
                            (more == 1 ? "" : "s") + " from " + join(policy.approvers, " or "));
    int eligible_left = 0;
    for (const Person& p : people) {
      if (!p.may_approve || !in_any_group(p, policy.approvers)) continue;
      std::string conflict = range_conflict(request, p);
      if (!conflict.empty()) {
        ev.blocked_by.push_back(p.name + " is ineligible: " + conflict);
      } else if (!approvers_counted.count(p.name)) {
        ++eligible_left;
      }
    }
    if (eligible_left < more)
      ev.blocked_by.push_back("only " + std::to_string(eligible_left) + " eligible approver" +
                              (eligible_left == 1 ? "" : "s") + " left to decide");
  } else {
    ev.state = State::Approved;
  }
  // Decisions that did not count explain a quorum not met; once met they
  // block nothing.
  if (ev.state != State::Approved)
    ev.blocked_by.insert(ev.blocked_by.end(), notes.begin(), notes.end());
  std::vector<std::string> clock = time_blocks(policy, now);
  ev.blocked_by.insert(ev.blocked_by.end(), clock.begin(), clock.end());
  ev.open = ev.state == State::Approved && clock.empty();
  return ev;
}

}  // namespace gantry::gmud
