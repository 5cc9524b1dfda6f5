// gantry-agent: the daemon that runs jobs the controller dispatches. Until the
// agent lands (next issue) it answers only --version and --help, and says so
// instead of pretending to run.
#include <cstdio>
#include <cstring>

#include "gantry/common/version.hpp"

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--version") == 0) {
      std::printf("gantry-agent %s\n", gantry::kVersion);
      return 0;
    }
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::printf(
          "usage: gantry-agent --controller URL --token TOKEN [--name N] [--labels a,b] [--executors N] [--work DIR]\n"
          "       gantry-agent --version\n\n"
          "This build has the pipeline language only; the agent daemon is not built yet.\n");
      return 0;
    }
  }
  std::fprintf(stderr,
               "gantry-agent: the agent daemon is not implemented in this build yet; "
               "use `gantry lint` and `gantry plan` for pipelines\n");
  return 2;
}
