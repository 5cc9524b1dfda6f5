// gantry-controller: the daemon that owns runs, schedules jobs on agents and
// serves the API. Until the controller lands (next issue) it answers only
// --version and --help, and says so instead of pretending to run.
#include <cstdio>
#include <cstring>

#include "gantry/common/version.hpp"

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--version") == 0) {
      std::printf("gantry-controller %s\n", gantry::kVersion);
      return 0;
    }
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::printf(
          "usage: gantry-controller [--config FILE] [--listen HOST:PORT] [--data DIR]\n"
          "       gantry-controller --version\n\n"
          "This build has the pipeline language only; the controller daemon is not built yet.\n");
      return 0;
    }
  }
  std::fprintf(stderr,
               "gantry-controller: the controller daemon is not implemented in this build yet; "
               "use `gantry lint` and `gantry plan` for pipelines\n");
  return 2;
}
