// compareMetrics: a canary analysis step (SPEC §8). Reads a baseline and a
// canary sample — a file of numbers (whitespace, comma or newline separated)
// or a Prometheus-style query URL — and fails when the canary is
// significantly greater than the baseline allowed `maxIncrease` (each
// baseline value scaled by 1 + maxIncrease), by a one-sided Mann-Whitney U
// test at `alpha`. Fewer than `minSamples` on either side is inconclusive,
// which fails the step with a message that says so.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "mann_whitney.hpp"
#include "step_runner.hpp"

namespace gantry::agent {

namespace {

constexpr size_t kMaxSampleBytes = size_t{64} << 20;
constexpr size_t kMaxSamples = 1000000;

bool parse_numbers(const std::string& text, std::vector<double>& out, std::string& error) {
  const char* p = text.c_str();
  const char* end = p + text.size();
  while (p < end) {
    while (p < end && (std::isspace(static_cast<unsigned char>(*p)) || *p == ',')) ++p;
    if (p >= end) break;
    char* next = nullptr;
    errno = 0;
    double v = std::strtod(p, &next);
    if (next == p || errno == ERANGE || !std::isfinite(v)) {
      error = "not a number near '" +
              std::string(p, std::min<size_t>(20, static_cast<size_t>(end - p))) + "'";
      return false;
    }
    if (out.size() == kMaxSamples) {
      error = "more than 1000000 samples";
      return false;
    }
    out.push_back(v);
    p = next;
  }
  return true;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

}  // namespace

bool StepRunner::read_samples(const std::string& source, const StepScope& scope,
                              std::vector<double>& out, std::string& error) {
  if (source.rfind("http://", 0) == 0 || source.rfind("https://", 0) == 0)
    return job_.host.fetch_samples(source, out, error);
  std::string path = resolve(scope, source);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path;
    return false;
  }
  std::string text;
  text.resize(kMaxSampleBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxSampleBytes) {
    error = path + " is larger than 64 MiB";
    return false;
  }
  if (!parse_numbers(text, out, error)) {
    error = path + ": " + error;
    return false;
  }
  return true;
}

StepStatus StepRunner::compare_metrics(const pipelines::Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto baseline_src = args.string("baseline");
  auto canary_src = args.string("canary");
  std::string metric = args.string("metric").value_or("metric");
  auto increase = args.value("maxIncrease");
  std::string test = args.string("test").value_or("mann-whitney");
  auto alpha_value = args.value("alpha");
  int64_t min_samples = args.integer("minSamples").value_or(50);
  if (!args.ok()) return args.failure();
  const std::string what = "compareMetrics " + metric;
  if (test != "mann-whitney")
    return StepStatus::failure(what + ": unknown test '" + test + "' (use mann-whitney)");
  double max_increase = 0;
  if (increase) {
    std::string t = increase->to_string();
    bool percent = !t.empty() && t.back() == '%';
    if (percent) t.pop_back();
    char* end = nullptr;
    max_increase = std::strtod(t.c_str(), &end);
    if (t.empty() || *end != '\0' || !std::isfinite(max_increase) || max_increase < 0)
      return StepStatus::failure(what + ": maxIncrease must be like '10%' or 0.1");
    if (percent) max_increase /= 100.0;
  }
  double alpha = 0.05;
  if (alpha_value) {
    char* end = nullptr;
    std::string t = alpha_value->to_string();
    alpha = std::strtod(t.c_str(), &end);
    if (t.empty() || *end != '\0' || !(alpha > 0 && alpha < 1))
      return StepStatus::failure(what + ": alpha must be between 0 and 1");
  }
  std::vector<double> baseline, canary;
  std::string error;
  if (!read_samples(*baseline_src, scope, baseline, error) ||
      !read_samples(*canary_src, scope, canary, error))
    return StepStatus::failure(what + ": " + error);
  log(what + ": baseline median " + fmt(median(baseline)) +
      " (n=" + std::to_string(baseline.size()) + "), canary median " + fmt(median(canary)) +
      " (n=" + std::to_string(canary.size()) + "), allowed increase " + fmt(max_increase * 100) +
      "%");
  if (static_cast<int64_t>(std::min(baseline.size(), canary.size())) < min_samples) {
    StepStatus st =
        StepStatus::failure(what + ": inconclusive: " + std::to_string(baseline.size()) +
                            " baseline and " + std::to_string(canary.size()) +
                            " canary samples, minSamples is " + std::to_string(min_samples));
    st.inconclusive = true;
    return st;
  }
  for (double& v : baseline) v *= 1.0 + max_increase;
  MannWhitney mw = mann_whitney_greater(baseline, canary);
  std::string stats = "Mann-Whitney U=" + fmt(mw.u) + ", z=" + fmt(mw.z) + ", p=" + fmt(mw.p) +
                      ", alpha " + fmt(alpha);
  if (mw.valid && mw.p < alpha)
    return StepStatus::failure(what + ": the canary is greater than the baseline + " +
                               fmt(max_increase * 100) + "% (" + stats + ")");
  log(what + ": passed (" + stats + ")");
  return StepStatus{};
}

}  // namespace gantry::agent
