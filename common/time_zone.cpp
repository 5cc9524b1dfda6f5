#include "gantry/common/time_zone.hpp"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <ctime>
#include <map>
#include <mutex>

namespace gantry {

namespace {

std::optional<cctz::time_zone> load(const std::string& zone) {
  static std::mutex mu;
  static std::map<std::string, std::optional<cctz::time_zone>> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(zone);
  if (it != cache.end()) return it->second;
  std::optional<cctz::time_zone> tz;
  if (zone.empty()) {
    tz = cctz::local_time_zone();
  } else if (cctz::time_zone z; zone.size() < 256 && cctz::load_time_zone(zone, &z)) {
    tz = z;
  }
  if (cache.size() < 1024) cache[zone] = tz;
  return tz;
}

}  // namespace

bool valid_time_zone(const std::string& zone) {
  return !zone.empty() && load(zone).has_value();
}

std::optional<CivilMinute> civil_minute(std::chrono::sys_seconds t, const std::string& zone) {
  auto tz = load(zone);
  if (!tz) return std::nullopt;
  const cctz::civil_second cs = cctz::convert(t, *tz);
  CivilMinute m;
  m.year = static_cast<int>(cs.year());
  m.month = cs.month();
  m.day = cs.day();
  m.hour = cs.hour();
  m.minute = cs.minute();
  m.weekday =
      (static_cast<int>(cctz::get_weekday(cctz::civil_day(cs))) + 1) % 7;  // cctz: Monday = 0
  return m;
}

std::string utc_text(int64_t unix_ms, const char* format) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

}  // namespace gantry
