#include "gantry/pipelines/cron.hpp"

#include "gantry/common/time_zone.hpp"

#include <array>
#include <cstdint>
#include <utility>

namespace gantry::pipelines {
namespace {

enum Field { kMinute, kHour, kDayOfMonth, kMonth, kDayOfWeek, kFieldCount };

constexpr std::array<std::string_view, kFieldCount> kFieldNames = {"minute", "hour", "day of month",
                                                                   "month", "day of week"};
constexpr std::array<int, kFieldCount> kLow = {0, 0, 1, 1, 0};
constexpr std::array<int, kFieldCount> kHigh = {59, 23, 31, 12, 7};
// Like Jenkins: H never picks the 29th-31st (some months lack them) and picks
// Sunday as 0, never also as 7, so every weekday is equally likely.
constexpr std::array<int, kFieldCount> kHashHigh = {59, 23, 28, 12, 6};

constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kAliases = {{
    {"@yearly", "H H H H *"},
    {"@annually", "H H H H *"},
    {"@monthly", "H H H * *"},
    {"@weekly", "H H * * H"},
    {"@daily", "H H * * *"},
    {"@midnight", "H H(0-2) * * *"},
    {"@hourly", "H * * * *"},
}};

// Numbers longer than this are out of range in every field; stopping there
// keeps the arithmetic far from overflow.
constexpr size_t kMaxDigits = 6;

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Stable pseudo-random values from the job name: FNV-1a seeds a SplitMix64
// sequence, so each H in a line gets its own value, the same on every parse.
class Hash {
 public:
  explicit Hash(std::string_view job_name) {
    for (char c : job_name) {
      state_ ^= static_cast<unsigned char>(c);
      state_ *= 1099511628211ULL;
    }
  }

  int next(int n) {
    state_ += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return static_cast<int>(z % static_cast<uint64_t>(n));
  }

 private:
  uint64_t state_ = 14695981039346656037ULL;
};

// A piece of the spec and where it starts in it.
struct Span {
  std::string_view text;
  size_t offset = 0;
};

Span trim(Span s) {
  while (!s.text.empty() && is_blank(s.text.front())) {
    s.text.remove_prefix(1);
    ++s.offset;
  }
  while (!s.text.empty() && is_blank(s.text.back())) s.text.remove_suffix(1);
  return s;
}

// Splits on `sep`; with `skip_empty` runs of separators count as one.
std::vector<Span> split(Span s, char sep, bool skip_empty) {
  std::vector<Span> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.text.size(); ++i) {
    bool at_sep = i == s.text.size() || s.text[i] == sep || (skip_empty && is_blank(s.text[i]));
    if (!at_sep) continue;
    if (!skip_empty || i > start)
      parts.push_back({s.text.substr(start, i - start), s.offset + start});
    start = i + 1;
  }
  return parts;
}

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

// Parses one schedule line into bit sets. Errors name the line and the field.
class LineParser {
 public:
  LineParser(Span line, std::string_view job_name) : line_(line), hash_(job_name) {}

  std::optional<CronError> parse(CronLine& out) {
    std::vector<Span> fields = split(line_, ' ', true);
    if (line_.text.front() == '@') {
      if (!expand_alias(fields)) return error_;
    } else if (!check_field_count(fields)) {
      return error_;
    }
    std::array<uint64_t, kFieldCount> bits{};
    for (int f = 0; f < kFieldCount; ++f) {
      for (Span term : split(fields[f], ',', false)) {
        if (!parse_term(static_cast<Field>(f), term, bits[f])) return error_;
      }
    }
    out.offset = line_.offset;
    out.minutes = std::bitset<60>(bits[kMinute]);
    out.hours = std::bitset<24>(bits[kHour]);
    out.days_of_month = std::bitset<31>(bits[kDayOfMonth] >> 1);
    out.months = std::bitset<12>(bits[kMonth] >> 1);
    uint64_t dow = bits[kDayOfWeek];
    out.days_of_week = std::bitset<7>((dow | (dow >> 7)) & 0x7f);
    return std::nullopt;
  }

 private:
  bool fail(size_t offset, std::string detail) {
    error_ =
        CronError{offset, "invalid cron spec " + quoted(line_.text) + ": " + std::move(detail)};
    return false;
  }

  bool expand_alias(std::vector<Span>& fields) {
    for (const auto& [name, expansion] : kAliases) {
      if (fields[0].text != name) continue;
      if (fields.size() > 1) {
        return fail(fields[1].offset,
                    "unexpected " + quoted(fields[1].text) + " after " + std::string(name));
      }
      size_t at = fields[0].offset;
      fields = split({expansion, 0}, ' ', true);
      for (Span& field : fields) field.offset = at;  // expansions cannot fail
      return true;
    }
    return fail(fields[0].offset, "unknown alias " + quoted(fields[0].text) +
                                      "; expected one of @yearly, @annually, @monthly, "
                                      "@weekly, @daily, @midnight, @hourly");
  }

  bool check_field_count(const std::vector<Span>& fields) {
    for (size_t i = 1; i < fields.size(); ++i) {
      if (fields[i].text.front() == '#') {
        return fail(fields[i].offset, "comments must be on a line of their own");
      }
    }
    if (fields.size() == kFieldCount) return true;
    size_t at =
        fields.size() > kFieldCount ? fields[kFieldCount].offset : line_.offset + line_.text.size();
    return fail(at, "expected 5 fields, got " + std::to_string(fields.size()) +
                        " (MINUTE HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK)");
  }

  // Reads digits at term.text[pos]; `what` names the number in errors.
  bool number(Field f, Span term, size_t& pos, int& value, std::string_view what) {
    size_t start = pos;
    while (pos < term.text.size() && is_digit(term.text[pos])) ++pos;
    if (pos == start) {
      std::string got = pos < term.text.size() ? quoted(term.text.substr(pos, 1)) : "nothing";
      return fail(term.offset + pos, "expected " + std::string(what) + " in the " +
                                         std::string(kFieldNames[f]) + " field " +
                                         quoted(term.text) + ", got " + got);
    }
    std::string_view digits = term.text.substr(start, pos - start);
    value = 0;
    for (char c : digits.substr(0, kMaxDigits)) value = value * 10 + (c - '0');
    if (digits.size() > kMaxDigits) value = 1000000;
    return true;
  }

  bool in_range(Field f, Span term, size_t pos, int value) {
    if (value >= kLow[f] && value <= kHigh[f]) return true;
    size_t end = pos;
    while (end < term.text.size() && is_digit(term.text[end])) ++end;
    return fail(term.offset + pos,
                std::string(kFieldNames[f]) + " " + std::string(term.text.substr(pos, end - pos)) +
                    " is out of range " + std::to_string(kLow[f]) + "-" + std::to_string(kHigh[f]));
  }

  // Reads "N-M" at pos into lo/hi, range-checked and in order.
  bool range(Field f, Span term, size_t& pos, int& lo, int& hi) {
    size_t lo_pos = pos;
    if (!number(f, term, pos, lo, "a number") || !in_range(f, term, lo_pos, lo)) return false;
    if (pos >= term.text.size() || term.text[pos] != '-') {
      hi = lo;
      return true;
    }
    size_t hi_pos = ++pos;
    if (!number(f, term, pos, hi, "a number") || !in_range(f, term, hi_pos, hi)) return false;
    if (lo <= hi) return true;
    std::string a = std::to_string(lo), b = std::to_string(hi);
    return fail(term.offset + lo_pos,
                "range " + a + "-" + b + " in the " + std::string(kFieldNames[f]) +
                    " field goes backwards; ranges cannot wrap around, split it as " + a + "-" +
                    std::to_string(kHigh[f]) + "," + std::to_string(kLow[f]) + "-" + b);
  }

  bool parse_term(Field f, Span term, uint64_t& bits) {
    if (term.text.empty()) {
      return fail(term.offset, "empty value in the " + std::string(kFieldNames[f]) + " field");
    }
    std::string_view text = term.text;
    size_t pos = 0;
    int lo = kLow[f], hi = kHigh[f];
    bool hashed = false, ranged = true;
    if (text[0] == '*') {
      pos = 1;
    } else if (text[0] == 'H') {
      hashed = true;
      hi = kHashHigh[f];
      pos = 1;
      if (pos < text.size() && text[pos] == '(') {
        ++pos;
        if (!range(f, term, pos, lo, hi)) return false;
        if (pos >= text.size() || text[pos] != ')') {
          return fail(term.offset + pos, "expected \")\" to close \"H(\" in the " +
                                             std::string(kFieldNames[f]) + " field");
        }
        ++pos;
      }
    } else {
      if (!range(f, term, pos, lo, hi)) return false;
      ranged = text.substr(0, pos).find('-') != std::string_view::npos;
    }
    int step = 1;
    if (pos < text.size() && text[pos] == '/') {
      if (!ranged) {
        return fail(term.offset + pos,
                    "a step needs a range: write */" + std::string(text.substr(pos + 1)) + " or " +
                        std::string(text.substr(0, pos)) + "-" + std::to_string(kHigh[f]) + "/" +
                        std::string(text.substr(pos + 1)));
      }
      size_t step_pos = ++pos;
      if (!number(f, term, pos, step, "a step")) return false;
      if (step <= 0) return fail(term.offset + step_pos, "step must be positive");
    }
    if (pos < text.size()) {
      return fail(term.offset + pos, "unexpected " + quoted(text.substr(pos, 1)) + " in the " +
                                         std::string(kFieldNames[f]) + " field " + quoted(text));
    }
    return hashed ? hash_bits(term, lo, hi, step, bits) : range_bits(lo, hi, step, bits);
  }

  static bool range_bits(int lo, int hi, int step, uint64_t& bits) {
    for (int i = lo; i <= hi; i += step) bits |= uint64_t{1} << i;
    return true;
  }

  bool hash_bits(Span term, int lo, int hi, int step, uint64_t& bits) {
    const int size = hi - lo + 1;
    if (step > size) {
      return fail(term.offset, "step " + std::to_string(step) + " is larger than the range " +
                                   std::to_string(lo) + "-" + std::to_string(hi) + " of " +
                                   quoted(term.text));
    }
    // Jenkins reads H/1 as a plain H: one value, not every value.
    if (step == 1) {
      bits |= uint64_t{1} << (lo + hash_.next(size));
      return true;
    }
    return range_bits(lo + hash_.next(step), hi, step, bits);
  }

  Span line_;
  Hash hash_;
  std::optional<CronError> error_;
};

// The earliest minute of the day at or after `from` allowed by `line`, or -1.
int first_minute(const CronLine& line, int from) {
  for (int h = from / 60; h < 24; ++h) {
    if (!line.hours.test(h)) continue;
    for (int m = h == from / 60 ? from % 60 : 0; m < 60; ++m) {
      if (line.minutes.test(m)) return h * 60 + m;
    }
  }
  return -1;
}

}  // namespace

bool CronLine::matches(int minute, int hour, int dom, int month, int dow) const {
  if (minute < 0 || minute > 59 || hour < 0 || hour > 23 || dom < 1 || dom > 31 || month < 1 ||
      month > 12 || dow < 0 || dow > 7) {
    return false;
  }
  return minutes.test(minute) && hours.test(hour) && days_of_month.test(dom - 1) &&
         months.test(month - 1) && days_of_week.test(dow % 7);
}

bool CronSpec::matches(int minute, int hour, int dom, int month, int dow) const {
  for (const CronLine& line : lines) {
    if (line.matches(minute, hour, dom, month, dow)) return true;
  }
  return false;
}

std::optional<std::chrono::sys_seconds> CronSpec::next_after(std::chrono::sys_seconds after) const {
  using namespace std::chrono;
  std::bitset<12> any_month;
  for (const CronLine& line : lines) any_month |= line.months;
  if (any_month.none()) return std::nullopt;

  const sys_time<minutes> start = floor<minutes>(after) + minutes{1};
  sys_days day = floor<days>(start);
  int from = static_cast<int>((start - day).count());
  // 400 Gregorian years are 146097 days, a whole number of weeks: after one
  // cycle every (date, weekday) pair has been seen.
  const sys_days end = day + days{146097};
  while (day < end) {
    const year_month_day ymd{day};
    const unsigned month = static_cast<unsigned>(ymd.month());
    if (!any_month.test(month - 1)) {
      day = sys_days{year_month_day{ymd.year() / ymd.month() / 1} + months{1}};
      from = 0;
      continue;
    }
    const int dom = static_cast<int>(static_cast<unsigned>(ymd.day()));
    const unsigned dow = weekday{day}.c_encoding();
    int best = -1;
    for (const CronLine& line : lines) {
      if (!line.months.test(month - 1) || !line.days_of_month.test(dom - 1) ||
          !line.days_of_week.test(dow)) {
        continue;
      }
      int m = first_minute(line, from);
      if (m >= 0 && (best < 0 || m < best)) best = m;
    }
    if (best >= 0) return sys_seconds{day + minutes{best}};
    day += days{1};
    from = 0;
  }
  return std::nullopt;
}

CronResult parse_cron(std::string_view spec, std::string_view job_name) {
  CronSpec result;
  bool seen_schedule = false;
  for (Span raw : split({spec, 0}, '\n', false)) {
    Span line = trim(raw);
    if (line.text.empty() || line.text.front() == '#') continue;
    if (line.text.substr(0, 3) == "TZ=") {
      Span zone = trim({line.text.substr(3), line.offset + 3});
      std::string where = "invalid cron spec " + quoted(line.text) + ": ";
      if (seen_schedule || !result.time_zone.empty()) {
        return CronError{line.offset, where + "TZ= must be the first line, and appear once"};
      }
      if (zone.text.empty()) {
        return CronError{zone.offset, where + "TZ= needs a time zone name, e.g. TZ=Europe/Paris"};
      }
      for (size_t i = 0; i < zone.text.size(); ++i) {
        if (is_blank(zone.text[i])) {
          return CronError{zone.offset + i, where + "a time zone name has no spaces"};
        }
      }
      result.time_zone = std::string(zone.text);
      if (!valid_time_zone(result.time_zone)) {
        return CronError{zone.offset, where + "unknown time zone '" + result.time_zone +
                                          "' (an IANA name, e.g. Europe/Paris)"};
      }
      continue;
    }
    seen_schedule = true;
    CronLine parsed;
    if (auto error = LineParser(line, job_name).parse(parsed)) return *std::move(error);
    result.lines.push_back(parsed);
  }
  return result;
}

bool fires_at(const CronSpec& spec, std::chrono::sys_seconds t) {
  auto m = civil_minute(t, spec.time_zone);
  return m && spec.matches(m->minute, m->hour, m->day, m->month, m->weekday);
}

}  // namespace gantry::pipelines
