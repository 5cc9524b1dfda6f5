// The `retention:` section of the controller config (docs/retention.md):
// ages in days (or the other duration units), counts, or `unlimited`.
#include <limits>

#include "config_reader.hpp"

namespace gantry::controller::config_detail {
namespace {

constexpr std::string_view kUnlimited = "unlimited";

bool parse_count(std::string_view text, int64_t& out) {
  if (text.empty() || text.size() > 18) return false;  // 18 digits never overflow
  out = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return false;
    out = out * 10 + (ch - '0');
  }
  return true;
}

// "90d" or anything parse_duration_ms takes ("12h", "30m").
bool parse_age_ms(std::string_view text, int64_t& out) {
  if (!text.empty() && text.back() == 'd') {
    int64_t days = 0;
    constexpr int64_t kMaxDays = std::numeric_limits<int64_t>::max() / RetentionConfig::kDayMs;
    if (!parse_count(text.substr(0, text.size() - 1), days) || days > kMaxDays) return false;
    out = days * RetentionConfig::kDayMs;
    return true;
  }
  return parse_duration_ms(text, out);
}

bool read_age(Reader& r, const Field& f, int64_t& out) {
  std::string text;
  if (!r.string(f, text)) return false;
  if (text == kUnlimited) {
    out = RetentionConfig::kUnlimited;
    return true;
  }
  if (!parse_age_ms(text, out)) {
    return r.fail(
        f, "invalid age '" + text + "' for '" + f.name + "' (use e.g. 90d, 12h or unlimited)");
  }
  if (out <= 0) {
    return r.fail(f, "'" + f.name + "' must be more than 0 (use unlimited to keep them forever)");
  }
  return true;
}

bool read_count(Reader& r, const Field& f, int64_t& out) {
  std::string text;
  if (!r.string(f, text)) return false;
  if (text == kUnlimited) {
    out = RetentionConfig::kUnlimited;
    return true;
  }
  if (!parse_count(text, out) || out < 1) {
    return r.fail(f, "invalid count '" + text + "' for '" + f.name +
                         "' (a whole number from 1, or unlimited)");
  }
  return true;
}

}  // namespace

bool read_retention(Reader& r, const Field& f, Config& c) {
  Fields fs;
  if (!r.fields(f.value, "'retention'", {"runs", "logs", "artifacts", "keep_last", "events"}, fs)) {
    return false;
  }
  RetentionConfig& out = c.retention;
  const Field* x = nullptr;
  if ((x = fs.find("runs")) && !read_age(r, *x, out.runs_ms)) return false;
  if ((x = fs.find("logs")) && !read_age(r, *x, out.logs_ms)) return false;
  if ((x = fs.find("artifacts")) && !read_age(r, *x, out.artifacts_ms)) return false;
  if ((x = fs.find("keep_last")) && !read_count(r, *x, out.keep_last)) return false;
  if ((x = fs.find("events")) && !read_count(r, *x, out.events)) return false;
  return true;
}

}  // namespace gantry::controller::config_detail
