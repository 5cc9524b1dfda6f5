// bench/parse: generates a ~5 MB Jenkinsfile (many stages using the common
// constructs: parallel, when, environment, script blocks, post, matrix) and
// measures parse-only and parse+validate throughput, next to the time
// `wc -c` takes to read the same file (the baseline, measured in this run).
// Target: >= 50 MB/s for parse+validate. With BENCH_TABLE set, also appends
// that figure as a row of `make bench`'s summary table.
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "gantry/pipelines/groovy_parser.hpp"
#include "gantry/pipelines/loader.hpp"

using Clock = std::chrono::steady_clock;
using namespace gantry::pipelines;

namespace {

std::string make_pipeline(size_t target_bytes) {
  std::string s =
      "pipeline {\n  agent { label 'linux && !arm' }\n  options { timeout(time: 1, unit: 'HOURS') "
      "}\n"
      "  environment {\n    CC = 'gcc'\n    VERSION = \"1.${BUILD_NUMBER}\"\n  }\n  stages {\n";
  for (size_t i = 0; s.size() < target_bytes; ++i) {
    std::string n = std::to_string(i);
    s += "    stage('Build " + n +
         "') {\n"
         "      when { anyOf { branch 'main'; expression { return env.BRANCH_NAME ==~ /release-.*/ "
         "} } }\n"
         "      environment { STAGE_" +
         n + " = \"value-${env.BUILD_ID}-" + n +
         "\" }\n"
         "      steps {\n"
         "        sh 'make -j2 target-" +
         n +
         "'\n"
         "        sh(script: \"./test.sh --shard " +
         n +
         "\", returnStatus: true, label: 'tests')\n"
         "        echo \"built ${env.STAGE_" +
         n +
         "} on ${NODE_NAME}\"\n"
         "        script {\n"
         "          if (currentBuild.result == null || currentBuild.result == 'SUCCESS') {\n"
         "            echo 'fine'\n"
         "          } else {\n"
         "            echo \"not fine: ${currentBuild.result}\"\n"
         "          }\n"
         "        }\n"
         "        dir('sub') { retry(3) { sh '''\n            make check\n            make dist\n  "
         "        ''' } }\n"
         "      }\n"
         "      post { always { junit allowEmptyResults: true, testResults: 'reports/" +
         n +
         "/*.xml' } }\n"
         "    }\n";
  }
  s += "  }\n  post { failure { echo 'failed' } }\n}\n";
  return s;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

template <typename F>
double best_of(int runs, F&& f) {
  double best = 1e9;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    f();
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  size_t bytes = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 5u << 20;
  std::string source = make_pipeline(bytes);
  std::string path = "/tmp/gantry-bench-parse-" + std::to_string(::getpid()) + ".Jenkinsfile";
  std::ofstream(path, std::ios::binary) << source;
  double mb = static_cast<double>(source.size()) / 1e6;

  // Baseline: the same bytes read by `wc -c` (process start included, as a
  // user would run it), best of 5.
  std::string cmd = "wc -c < " + path + " > /dev/null";
  double wc = best_of(5, [&] {
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "wc failed\n");
  });
  double parse = best_of(5, [&] {
    Diagnostics d;
    NodePtr root = parse_groovy(source, d);
    if (d.has_errors()) std::abort();
  });
  size_t stages = 0;
  double full = best_of(5, [&] {
    LoadResult r = load_pipeline(source, SourceFormat::Jenkinsfile);
    if (!r.pipeline) {
      std::fprintf(stderr, "%s", render_all(r.diagnostics, path, source).c_str());
      std::abort();
    }
    stages = r.pipeline->stages.size();
  });
  std::remove(path.c_str());

  std::printf("bench/parse: %.2f MB Jenkinsfile, %zu stages\n", mb, stages);
  std::printf("  wc -c (baseline)      %8.2f ms  %8.1f MB/s\n", wc * 1e3, mb / wc);
  std::printf("  parse                 %8.2f ms  %8.1f MB/s\n", parse * 1e3, mb / parse);
  std::printf("  parse + validate      %8.2f ms  %8.1f MB/s  (target >= 50 MB/s)\n", full * 1e3,
              mb / full);
  std::printf("  ratio parse+validate / wc -c: %.1fx the time\n", full / wc);
  // One row of `make bench`'s summary table (bench/lib.sh: bench_row).
  if (const char* table = std::getenv("BENCH_TABLE"); table && *table) {
    if (std::FILE* f = std::fopen(table, "a")) {
      std::fprintf(f,
                   "Jenkinsfile parse + validate, %.1f MB\t%.1f\tMB/s\t>= 50\t%.1f\t"
                   "wc -c reading the same file\t\n",
                   mb, mb / full, mb / wc);
      std::fclose(f);
    }
  }
  return 0;
}
