#pragma once
// Wall-clock time in a named IANA time zone (rules from the system's tzdata),
// for cron triggers and, later, change windows. A thin wrapper over cctz so
// no other code sees it. Zones are loaded once and cached; thread-safe.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace gantry {

struct CivilMinute {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0;
  int weekday = 0;  // 0 = Sunday
};

// Whether `zone` names a known time zone ("UTC", "America/Sao_Paulo").
bool valid_time_zone(const std::string& zone);

// `t` as wall-clock time in `zone`; an empty zone is the system's local zone
// (TZ, else /etc/localtime, else UTC). nullopt for an unknown zone.
std::optional<CivilMinute> civil_minute(std::chrono::sys_seconds t, const std::string& zone);

// Unix milliseconds as UTC text, by a strftime format ("%H:%M:%SZ").
std::string utc_text(int64_t unix_ms, const char* format = "%Y-%m-%dT%H:%M:%SZ");

}  // namespace gantry
