// bench/groovy: Gantry's Groovy interpreter against Groovy 2.4 (Debian's
// `groovy`, the version Jenkins embeds) on the same script in the same run:
// loops, arithmetic, GStrings, String/List/Map methods and closures, the
// stuff of script { } blocks. The script times its own work
// (System.nanoTime() around it, so the JVM's start is not counted) and both
// run it three times, best kept. Target (SPEC §12): >= 1 000 000 operations
// per second, operations as Gantry's interpreter counts them (one per
// expression or statement evaluated). With BENCH_TABLE set, appends that row.
#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "gantry/pipelines/groovy.hpp"
#include "gantry/pipelines/groovy_parser.hpp"

using namespace gantry::pipelines;

namespace {

std::string script(int n) {
  return R"(def t0 = System.nanoTime()
def total = 0
def words = []
for (int i = 0; i < )" +
         std::to_string(n) + R"(; i++) {
  total += i % 7
  if (i % 50 == 0) words << "w${i}".toUpperCase()
}
def m = [:]
words.each { w -> m[w] = w.size() }
def joined = m.findAll { k, v -> v > 3 }.collect { k, v -> k.toLowerCase() }.join(',')
def parts = joined.tokenize(',').collect { it.substring(1).toInteger() }.sum()
println "result ${total} ${joined.size()} ${parts}"
println "elapsed_ms ${(System.nanoTime() - t0) / 1000000}"
)";
}

double elapsed_of(const std::string& out) {
  size_t at = out.find("elapsed_ms ");
  return at == std::string::npos ? -1 : std::strtod(out.c_str() + at + 11, nullptr);
}

std::string result_of(const std::string& out) {
  size_t at = out.find("result ");
  return at == std::string::npos ? "" : out.substr(at, out.find('\n', at) - at);
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 300000;
  if (const char* quick = std::getenv("BENCH_QUICK"); quick && *quick == '1') n = 100000;
  std::string src = script(n);

  // Gantry: best of three, with the operation count of the last.
  double gantry_ms = 1e18;
  uint64_t ops = 0;
  std::string gantry_out;
  for (int i = 0; i < 3; ++i) {
    Diagnostics diags;
    std::shared_ptr<const Node> file = parse_groovy(src, diags);
    struct Out : groovy::Host {
      bool has_step(std::string_view) const override { return false; }
      bool step(groovy::Interpreter& in, const groovy::StepCall&, groovy::Value&) override {
        return in.raise("java.lang.UnsupportedOperationException", "no steps");
      }
      void print(std::string_view t) override { text.append(t); }
      std::optional<groovy::Value> global(std::string_view) override { return std::nullopt; }
      std::string text;
    } host;
    groovy::Interpreter in(host, "Script1");
    in.load(file);
    auto t0 = std::chrono::steady_clock::now();
    if (!in.run_top_level()) {
      std::fprintf(stderr, "bench/groovy: %s\n", in.error_message().c_str());
      return 1;
    }
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (ms < gantry_ms) gantry_ms = ms;
    ops = in.operations();
    gantry_out = host.text;
  }

  // Groovy 2.4: the same file, the work timed by the script itself.
  std::string path = "/tmp/gantry-bench-groovy-" + std::to_string(::getpid()) + ".groovy";
  std::ofstream(path) << src;
  double groovy_ms = -1;
  std::string groovy_out;
  for (int i = 0; i < 3; ++i) {
    std::string out;
    std::string cmd = "groovy " + path + " 2>&1";
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
      char buf[4096];
      size_t got;
      while ((got = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, got);
      ::pclose(p);
    }
    double ms = elapsed_of(out);
    if (ms >= 0 && (groovy_ms < 0 || ms < groovy_ms)) groovy_ms = ms;
    groovy_out = out;
  }
  std::remove(path.c_str());

  double ops_per_s = static_cast<double>(ops) / (gantry_ms / 1000.0);
  std::printf("bench/groovy: %d loop iterations, %llu operations\n", n,
              static_cast<unsigned long long>(ops));
  std::printf("  gantry               %8.1f ms  %10.0f operations/s  (target >= 1000000)\n",
              gantry_ms, ops_per_s);
  if (groovy_ms >= 0) {
    std::printf("  groovy 2.4 (baseline) %8.1f ms  (the same work, timed inside the JVM)\n",
                groovy_ms);
    std::printf("  ratio gantry / groovy: %.1fx the time\n", gantry_ms / groovy_ms);
  } else {
    std::printf("  groovy 2.4: not run (%s)\n", groovy_out.substr(0, 200).c_str());
  }
  bool same = result_of(gantry_out) == result_of(groovy_out);
  std::printf("  same result as groovy: %s (%s)\n", same ? "yes" : "NO",
              result_of(gantry_out).c_str());
  if (const char* table = std::getenv("BENCH_TABLE"); table && *table) {
    if (std::FILE* f = std::fopen(table, "a")) {
      std::fprintf(f,
                   "Groovy interpreter, script-block work\t%.0f\toperations/s\t>= 1000000\t%.1f\t"
                   "groovy 2.4 on the same script (ms; Gantry %.1f ms)\t\n",
                   ops_per_s, groovy_ms, gantry_ms);
      std::fclose(f);
    }
  }
  return same ? 0 : 1;
}
