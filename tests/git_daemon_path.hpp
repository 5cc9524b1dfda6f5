#pragma once
// Where git-daemon itself lives (`git --exec-path`). Tests start it
// directly: `git daemon` runs it as a child of the `git` wrapper, so
// stopping the wrapper would leave the daemon running after the test.
#include <cstdio>
#include <string>

namespace gantry::testing {

inline std::string git_daemon_path() {
  std::string path = "/usr/lib/git-core";
  if (FILE* p = ::popen("git --exec-path", "r")) {
    char buf[512];
    if (std::fgets(buf, sizeof buf, p)) {
      path = buf;
      while (!path.empty() && (path.back() == '\n' || path.back() == '\r')) path.pop_back();
    }
    ::pclose(p);
  }
  return path + "/git-daemon";
}

}  // namespace gantry::testing
