#pragma once
// Jenkins cron specs, as written in `triggers { cron('H */4 * * 1-5') }` and
// `pollSCM('H/15 * * * *')`: validating a spec, expanding it into one set of
// allowed values per field (resolving `H` from the job name), and finding the
// next minute at which it fires.
//
// The syntax is Jenkins', not Vixie cron's: five fields MINUTE HOUR DOM MONTH
// DOW per line; several lines fire independently; `#` comment lines and blank
// lines are skipped; terms are `*`, `N`, `N-M`, `*/S`, `N-M/S`, `H`, `H(N-M)`,
// `H/S`, `H(N-M)/S`, joined by commas; a line may be one of the aliases
// @yearly @annually @monthly @weekly @daily @midnight @hourly (which, as in
// Jenkins, spread their firing time with `H`). Day of week 0 and 7 are Sunday.
// A minute matches when minute, hour and month match AND both the day of month
// and the day of week match (Jenkins ANDs them; Vixie cron ORs them).
//
// `H` picks a stable value from a hash of the job name, so jobs sharing a spec
// do not all fire at once. As in Jenkins, a plain `H` in the day-of-month field
// stays within 1-28 and in the day-of-week field within 0-6, and `H/1` picks one
// value (it is the same as `H`).
//
// Time zones: a leading `TZ=Zone` line must name an IANA zone known to the
// system's tzdata and is kept in CronSpec::time_zone. fires_at() reads the
// minute as wall-clock time in that zone (the system's local zone without
// one), so across a daylight-saving change a local time that does not exist
// never fires and one that happens twice fires twice, as a wall clock would.
// next_after() works in UTC. Not responsible for reading the clock or running
// jobs.
// Pure values, no I/O; a parsed CronSpec is immutable and safe to share
// between threads.

#include <bitset>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace gantry::pipelines {

struct CronError {
  size_t offset = 0;  // byte offset inside the spec string, for a caret
  std::string message;
};

// One schedule line, expanded. Bit i means value i is allowed, except that
// days of month and months are stored from bit 0 (bit 0 is the 1st, January).
// Day of week: bit 0 is Sunday (a written 7 is stored as 0).
struct CronLine {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<31> days_of_month;
  std::bitset<12> months;
  std::bitset<7> days_of_week;
  size_t offset = 0;  // where the line starts in the spec

  // month is 1-12, dom 1-31, dow 0-7 (0 and 7 are Sunday). Out-of-range
  // arguments match nothing.
  bool matches(int minute, int hour, int dom, int month, int dow) const;
};

struct CronSpec {
  std::string time_zone;        // from a `TZ=` line; empty when there is none
  std::vector<CronLine> lines;  // empty for a spec of only comments: never fires

  // True when any line matches; same argument ranges as CronLine::matches.
  bool matches(int minute, int hour, int dom, int month, int dow) const;

  // The first whole minute strictly after `after` (UTC) that matches, or
  // nullopt when none ever does (e.g. `0 0 30 2 *`). The search covers 400
  // years, one full cycle of the Gregorian calendar, so nullopt means never.
  std::optional<std::chrono::sys_seconds> next_after(std::chrono::sys_seconds after) const;
};

using CronResult = std::variant<CronSpec, CronError>;

// Whether `spec` fires in the minute that contains `t`, in the spec's zone.
bool fires_at(const CronSpec& spec, std::chrono::sys_seconds t);

// Parses and expands `spec`; `job_name` seeds `H`. Errors read like
// `invalid cron spec "61 * * * *": minute 61 is out of range 0-59`.
CronResult parse_cron(std::string_view spec, std::string_view job_name);

}  // namespace gantry::pipelines
