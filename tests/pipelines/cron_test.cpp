#include "gantry/pipelines/cron.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace gantry::pipelines;
using namespace std::chrono;

namespace {

CronSpec parse_ok(std::string_view spec, std::string_view job = "job") {
  CronResult r = parse_cron(spec, job);
  if (const auto* e = std::get_if<CronError>(&r)) FAIL("unexpected error: " << e->message);
  return std::get<CronSpec>(std::move(r));
}

CronError parse_err(std::string_view spec, std::string_view job = "job") {
  CronResult r = parse_cron(spec, job);
  REQUIRE(std::holds_alternative<CronError>(r));
  return std::get<CronError>(std::move(r));
}

sys_seconds at(year_month_day ymd, int hour = 0, int minute = 0, int second = 0) {
  return sys_days{ymd} + hours{hour} + minutes{minute} + seconds{second};
}

std::optional<sys_seconds> next(std::string_view spec, sys_seconds from) {
  return parse_ok(spec).next_after(from);
}

}  // namespace

TEST_CASE("cron: fixed values, ranges, steps and lists expand to bits") {
  CronSpec s = parse_ok("5,10-12 */6 1-31/10 1,12 1-5");
  REQUIRE(s.lines.size() == 1);
  const CronLine& l = s.lines[0];
  CHECK(l.minutes.count() == 4);
  CHECK(l.minutes.test(5));
  CHECK(l.minutes.test(10));
  CHECK(l.minutes.test(12));
  CHECK(l.hours == std::bitset<24>(0b1000001000001000001));
  CHECK(l.days_of_month.count() == 4);  // 1, 11, 21, 31
  CHECK(l.days_of_month.test(0));
  CHECK(l.days_of_month.test(30));
  CHECK(l.months == std::bitset<12>(0b100000000001));
  CHECK(l.days_of_week == std::bitset<7>(0b0111110));
  CHECK(s.time_zone.empty());
}

TEST_CASE("cron: day of week 7 is Sunday") {
  CHECK(parse_ok("0 0 * * 7").lines[0].days_of_week == std::bitset<7>(1));
  CHECK(parse_ok("0 0 * * 5-7").lines[0].days_of_week == std::bitset<7>(0b1100001));
  CHECK(parse_ok("0 0 * * 0-7").lines[0].days_of_week.all());
  CronSpec s = parse_ok("0 12 * * 7");
  CHECK(s.matches(0, 12, 4, 1, 0));
  CHECK(s.matches(0, 12, 4, 1, 7));
  CHECK_FALSE(s.matches(0, 12, 5, 1, 1));
}

TEST_CASE("cron: matches ANDs day of month and day of week, like Jenkins") {
  CronSpec s = parse_ok("0 0 13 * 5");
  CHECK(s.matches(0, 0, 13, 2, 5));
  CHECK_FALSE(s.matches(0, 0, 13, 1, 2));  // the 13th, but a Tuesday
  CHECK_FALSE(s.matches(0, 0, 2, 1, 5));   // a Friday, but the 2nd
}

TEST_CASE("cron: matches rejects out-of-range arguments instead of throwing") {
  CronSpec s = parse_ok("* * * * *");
  CHECK(s.matches(59, 23, 31, 12, 7));
  CHECK_FALSE(s.matches(60, 0, 1, 1, 0));
  CHECK_FALSE(s.matches(0, -1, 1, 1, 0));
  CHECK_FALSE(s.matches(0, 0, 0, 1, 0));
  CHECK_FALSE(s.matches(0, 0, 1, 13, 0));
  CHECK_FALSE(s.matches(0, 0, 1, 1, 8));
}

TEST_CASE("cron: comments, blank lines, CRLF and several lines") {
  CronSpec s = parse_ok("# nightly\r\n\r\n  0 2 * * *  \r\n\t# and noon\n30 12 * * 1-5\n");
  REQUIRE(s.lines.size() == 2);
  CHECK(s.lines[0].offset == 15);
  CHECK(s.matches(0, 2, 1, 1, 0));
  CHECK(s.matches(30, 12, 1, 1, 3));
  CHECK_FALSE(s.matches(30, 12, 1, 1, 6));
}

TEST_CASE("cron: a spec of only comments is valid and never fires") {
  CronSpec s = parse_ok("# disabled\n\n");
  CHECK(s.lines.empty());
  CHECK_FALSE(s.next_after(at(2026y / 1 / 1)).has_value());
  CHECK(parse_ok("").lines.empty());
}

TEST_CASE("cron: TZ= line is kept") {
  CronSpec s = parse_ok("TZ=Europe/Paris\nH 2 * * *");
  CHECK(s.time_zone == "Europe/Paris");
  CHECK(s.lines.size() == 1);
  CHECK(parse_ok("\n# zone\nTZ= UTC \n0 0 * * *").time_zone == "UTC");
}

TEST_CASE("cron: H is stable for a job name and stays in range") {
  CronSpec a = parse_ok("H H H H H", "team/app/main");
  CronSpec b = parse_ok("H H H H H", "team/app/main");
  CHECK(a.lines[0].minutes == b.lines[0].minutes);
  CHECK(a.lines[0].hours == b.lines[0].hours);
  CHECK(a.lines[0].days_of_month == b.lines[0].days_of_month);

  std::bitset<60> minutes_seen;
  for (int i = 0; i < 200; ++i) {
    std::string job = "job-" + std::to_string(i);
    CronLine l = parse_ok("H H(0-7) H * H", job).lines[0];
    CHECK(l.minutes.count() == 1);
    CHECK(l.hours.count() == 1);
    CHECK((l.hours.to_ulong() & ~0xffUL) == 0);  // hour 0-7
    CHECK(l.days_of_month.count() == 1);
    CHECK((l.days_of_month.to_ulong() >> 28) == 0);  // day 1-28 only
    CHECK(l.days_of_week.count() == 1);
    minutes_seen |= l.minutes;
  }
  // Different jobs spread out rather than piling onto one minute.
  CHECK(minutes_seen.count() > 30);
}

TEST_CASE("cron: H with a step fires every step from a hashed start") {
  for (std::string job : {"a", "b", "c", "deploy", "team/app/main"}) {
    CronLine l = parse_ok("H/15 H(8-17)/3 * * *", job).lines[0];
    REQUIRE(l.minutes.count() == 4);
    int first = 0;
    while (!l.minutes.test(first)) ++first;
    CHECK(first < 15);
    for (int m = first; m < 60; m += 15) CHECK(l.minutes.test(m));
    int hour = 0;
    while (!l.hours.test(hour)) ++hour;
    CHECK(hour >= 8);
    CHECK(hour <= 10);
    for (int h = hour; h <= 17; h += 3) CHECK(l.hours.test(h));
    CHECK(l.hours.count() == static_cast<size_t>((17 - hour) / 3 + 1));
  }
  // Jenkins reads H/1 as a plain H: one value.
  CHECK(parse_ok("H/1 * * * *").lines[0].minutes.count() == 1);
}

TEST_CASE("cron: aliases expand like Jenkins") {
  CronLine daily = parse_ok("@daily").lines[0];
  CHECK(daily.minutes.count() == 1);
  CHECK(daily.hours.count() == 1);
  CHECK(daily.days_of_month.all());
  CHECK(daily.days_of_week.all());
  CronLine midnight = parse_ok("@midnight", "x").lines[0];
  CHECK((midnight.hours.to_ulong() & ~0x7UL) == 0);
  CHECK(parse_ok("@hourly").lines[0].hours.all());
  CHECK(parse_ok("@weekly").lines[0].days_of_week.count() == 1);
  CHECK(parse_ok("@monthly").lines[0].days_of_month.count() == 1);
  CHECK(parse_ok("@yearly").lines[0].months.count() == 1);
  CHECK(parse_ok("@annually", "j").lines[0].months == parse_ok("@yearly", "j").lines[0].months);
}

TEST_CASE("cron: errors name the line, the field and the value") {
  struct Case {
    std::string spec;
    size_t offset;
    std::string message;
  };
  const Case cases[] = {
      {"61 * * * *", 0, "invalid cron spec \"61 * * * *\": minute 61 is out of range 0-59"},
      {"0 24 * * *", 2, "invalid cron spec \"0 24 * * *\": hour 24 is out of range 0-23"},
      {"0 0 0 * *", 4, "invalid cron spec \"0 0 0 * *\": day of month 0 is out of range 1-31"},
      {"0 0 * 1-13 *", 8, "invalid cron spec \"0 0 * 1-13 *\": month 13 is out of range 1-12"},
      {"0 0 * * 8", 8, "invalid cron spec \"0 0 * * 8\": day of week 8 is out of range 0-7"},
      {"9999999 * * * *", 0,
       "invalid cron spec \"9999999 * * * *\": minute 9999999 is out of range 0-59"},
      {"* * * *", 7,
       "invalid cron spec \"* * * *\": expected 5 fields, got 4 "
       "(MINUTE HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK)"},
      {"* * * * * *", 10,
       "invalid cron spec \"* * * * * *\": expected 5 fields, got 6 "
       "(MINUTE HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK)"},
      {"*/0 * * * *", 2, "invalid cron spec \"*/0 * * * *\": step must be positive"},
      {"H/0 * * * *", 2, "invalid cron spec \"H/0 * * * *\": step must be positive"},
      {"*/ * * * *", 2,
       "invalid cron spec \"*/ * * * *\": expected a step in the minute field \"*/\", got "
       "nothing"},
      {"0 22-2 * * *", 2,
       "invalid cron spec \"0 22-2 * * *\": range 22-2 in the hour field goes backwards; ranges "
       "cannot wrap around, split it as 22-23,0-2"},
      {"5/10 * * * *", 1,
       "invalid cron spec \"5/10 * * * *\": a step needs a range: write */10 or 5-59/10"},
      {"H/30 H(0-3)/5 * * *", 5,
       "invalid cron spec \"H/30 H(0-3)/5 * * *\": step 5 is larger than the range 0-3 of "
       "\"H(0-3)/5\""},
      {"H(0-3 * * * *", 5,
       "invalid cron spec \"H(0-3 * * * *\": expected \")\" to close \"H(\" in the minute field"},
      {"H(a-3) * * * *", 2,
       "invalid cron spec \"H(a-3) * * * *\": expected a number in the minute field "
       "\"H(a-3)\", got \"a\""},
      {"1,,2 * * * *", 2, "invalid cron spec \"1,,2 * * * *\": empty value in the minute field"},
      {"0 0 * JAN *", 6,
       "invalid cron spec \"0 0 * JAN *\": expected a number in the month field \"JAN\", got "
       "\"J\""},
      {"0 0 * * 1x", 9,
       "invalid cron spec \"0 0 * * 1x\": unexpected \"x\" in the day of week field \"1x\""},
      {"h * * * *", 0,
       "invalid cron spec \"h * * * *\": expected a number in the minute field \"h\", got "
       "\"h\""},
      {"@often", 0,
       "invalid cron spec \"@often\": unknown alias \"@often\"; expected one of @yearly, "
       "@annually, @monthly, @weekly, @daily, @midnight, @hourly"},
      {"@daily 5", 7, "invalid cron spec \"@daily 5\": unexpected \"5\" after @daily"},
      {"0 0 * * * # nightly", 10,
       "invalid cron spec \"0 0 * * * # nightly\": comments must be on a line of their own"},
      {"TZ=", 3, "invalid cron spec \"TZ=\": TZ= needs a time zone name, e.g. TZ=Europe/Paris"},
      {"TZ=Europe/ Paris", 10,
       "invalid cron spec \"TZ=Europe/ Paris\": a time zone name has no spaces"},
      {"0 0 * * *\nTZ=UTC", 10,
       "invalid cron spec \"TZ=UTC\": TZ= must be the first line, and appear once"},
      {"TZ=Mars/Olympus\n0 0 * * *", 3,
       "invalid cron spec \"TZ=Mars/Olympus\": unknown time zone 'Mars/Olympus' (an IANA name, "
       "e.g. Europe/Paris)"},
  };
  for (const Case& c : cases) {
    INFO(c.spec);
    CronError e = parse_err(c.spec);
    CHECK(e.message == c.message);
    CHECK(e.offset == c.offset);
  }
}

TEST_CASE("cron: error offsets count from the start of the whole spec") {
  CronError e = parse_err("# header\nH 2 * * *\n  0 0 32 * *\n");
  CHECK(e.offset == 25);
  CHECK(e.message == "invalid cron spec \"0 0 32 * *\": day of month 32 is out of range 1-31");
}

TEST_CASE("cron: next_after finds the next matching minute") {
  // Leap day: from March 2026 the next 29 February is in 2028.
  CHECK(next("0 0 29 2 *", at(2026y / 3 / 1)) == at(2028y / 2 / 29));
  // Strictly after, at minute granularity.
  CHECK(next("0 0 * * *", at(2026y / 3 / 1)) == at(2026y / 3 / 2));
  CHECK(next("0 0 * * *", at(2026y / 3 / 1, 0, 0, 30)) == at(2026y / 3 / 2));
  CHECK(next("* * * * *", at(2026y / 3 / 1, 10, 7, 59)) == at(2026y / 3 / 1, 10, 8));
  CHECK(next("*/15 * * * *", at(2026y / 3 / 1, 10, 7)) == at(2026y / 3 / 1, 10, 15));
  CHECK(next("*/15 * * * *", at(2026y / 3 / 1, 23, 50)) == at(2026y / 3 / 2, 0, 0));
  // Year boundary.
  CHECK(next("0 0 1 1 *", at(2026y / 12 / 31, 23, 59)) == at(2027y / 1 / 1));
  // 7 is Sunday: 2026-01-01 is a Thursday.
  CHECK(next("0 12 * * 7", at(2026y / 1 / 1)) == at(2026y / 1 / 4, 12));
  // Day of month AND day of week: the next Friday the 13th, not the next Friday.
  CHECK(next("0 0 13 * 5", at(2026y / 1 / 1)) == at(2026y / 2 / 13));
  // A Monday 29 February is 18 years away.
  CHECK(next("0 0 29 2 1", at(2026y / 1 / 1)) == at(2044y / 2 / 29));
  // Several lines: the earliest wins.
  CHECK(next("0 18 * * *\n30 9 * * *", at(2026y / 3 / 1, 12)) == at(2026y / 3 / 1, 18));
  CHECK(next("0 18 * * *\n30 9 * * *", at(2026y / 3 / 1, 19)) == at(2026y / 3 / 2, 9, 30));
}

TEST_CASE("cron: next_after of an impossible spec is nullopt") {
  CHECK_FALSE(next("0 0 30 2 *", at(2026y / 1 / 1)).has_value());
  CHECK_FALSE(next("0 0 31 4,6,9,11 *", at(2026y / 1 / 1)).has_value());
  CHECK_FALSE(next("0 0 31 2 *\n0 0 31 11 *", at(1999y / 12 / 31, 23, 59)).has_value());
}

TEST_CASE("cron: next_after of an H spec agrees with matches") {
  CronSpec s = parse_ok("H H(2-4) * * 1-5", "nightly-build");
  sys_seconds t = at(2026y / 3 / 1);
  for (int i = 0; i < 10; ++i) {
    std::optional<sys_seconds> n = s.next_after(t);
    REQUIRE(n.has_value());
    CHECK(*n > t);
    const sys_days day = floor<days>(*n);
    const year_month_day ymd{day};
    const hh_mm_ss<seconds> tod{*n - day};
    CHECK(s.matches(static_cast<int>(tod.minutes().count()), static_cast<int>(tod.hours().count()),
                    static_cast<int>(static_cast<unsigned>(ymd.day())),
                    static_cast<int>(static_cast<unsigned>(ymd.month())),
                    static_cast<int>(weekday{day}.c_encoding())));
    t = *n;
  }
}

TEST_CASE("cron: fires_at reads the minute in the spec's time zone") {
  // 09:00 on weekdays in New York: 13:00 UTC in summer (EDT), 14:00 in winter.
  CronSpec ny = parse_ok("TZ=America/New_York\n0 9 * * 1-5");
  CHECK(fires_at(ny, at(2026y / July / 15, 13, 0)));
  CHECK_FALSE(fires_at(ny, at(2026y / July / 15, 14, 0)));
  CHECK(fires_at(ny, at(2026y / January / 14, 14, 0)));
  CHECK_FALSE(fires_at(ny, at(2026y / January / 14, 13, 0)));
  // Any second of the minute matches; a Saturday does not.
  CHECK(fires_at(ny, at(2026y / July / 15, 13, 0, 59)));
  CHECK_FALSE(fires_at(ny, at(2026y / July / 18, 13, 0)));
  // The day of week is the zone's: 22:30 Sunday in Sao Paulo (UTC-3) is
  // 01:30 Monday in UTC.
  CronSpec sp = parse_ok("TZ=America/Sao_Paulo\n30 22 * * 0");
  CHECK(fires_at(sp, at(2026y / November / 23, 1, 30)));        // Monday in UTC
  CHECK_FALSE(fires_at(sp, at(2026y / November / 22, 1, 30)));  // Saturday night there
  CHECK(fires_at(parse_ok("TZ=UTC\n*/15 * * * *"), at(2026y / March / 1, 5, 45)));
}

TEST_CASE("cron: across daylight saving, a wall-clock time fires as a wall clock would") {
  // New York springs forward on 2026-03-08 at 02:00 -> 03:00: 02:30 never
  // happens that day; it falls back on 2026-11-01 at 02:00 -> 01:00: 01:30
  // happens twice.
  CronSpec spring = parse_ok("TZ=America/New_York\n30 2 * * *");
  int fired = 0;
  for (auto t = at(2026y / March / 8, 0, 0); t < at(2026y / March / 9, 0, 0); t += minutes{1})
    fired += fires_at(spring, t) ? 1 : 0;
  CHECK(fired == 0);
  CronSpec fall = parse_ok("TZ=America/New_York\n30 1 * * *");
  fired = 0;
  for (auto t = at(2026y / November / 1, 0, 0); t < at(2026y / November / 2, 0, 0); t += minutes{1})
    fired += fires_at(fall, t) ? 1 : 0;
  CHECK(fired == 2);
}
