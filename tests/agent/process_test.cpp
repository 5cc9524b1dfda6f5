// Process: exit statuses, merged output, the exact environment, start errors,
// and terminate_tree reaching grandchildren that ignore SIGTERM or left the
// process group with setsid.
#include "runner/process.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <thread>

using gantry::agent::Process;
using gantry::agent::ProcessSpec;
using namespace std::chrono_literals;

namespace {

std::string unique_cookie() {
  static std::atomic<int> n{0};
  return "test-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

ProcessSpec shell(const std::string& script) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-e", "-c", script};
  spec.env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}};
  spec.cwd = "/tmp";
  spec.cookie = unique_cookie();
  return spec;
}

std::string drain(Process& p) {
  std::string out;
  char buf[4096];
  long n;
  while ((n = p.read(buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

struct Outcome {
  int status = -1;
  std::string out;
};

Outcome run(const ProcessSpec& spec) {
  Process p;
  std::string error;
  REQUIRE(p.start(spec, error));
  Outcome o;
  o.out = drain(p);
  o.status = p.wait();
  return o;
}

// Reparented children may linger as zombies when nobody reaps them; they
// hold nothing and count as gone.
bool gone(long pid) {
  if (::kill(static_cast<pid_t>(pid), 0) != 0) return errno == ESRCH;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z';
}

long pgid_of(long pid) {
  return static_cast<long>(::getpgid(static_cast<pid_t>(pid)));
}

}  // namespace

TEST_CASE("exit codes and signals come back as the shell reports them", "[process]") {
  CHECK(run(shell("exit 0")).status == 0);
  CHECK(run(shell("exit 3")).status == 3);
  CHECK(run(shell("false")).status == 1);
  CHECK(run(shell("kill -9 $$")).status == 128 + SIGKILL);
  CHECK(run(shell("kill -TERM $$")).status == 128 + SIGTERM);
}

TEST_CASE("stdout and stderr share one pipe, in order", "[process]") {
  Outcome o = run(shell("echo out; echo err >&2; echo out2"));
  CHECK(o.status == 0);
  CHECK(o.out == "out\nerr\nout2\n");
}

TEST_CASE("the environment is exactly the spec's plus the cookie", "[process]") {
  ProcessSpec spec;
  spec.argv = {"/usr/bin/env"};
  spec.env = {{"A", "1"}, {"B", "two words"}, {"GANTRY_JOB_COOKIE", "overridden"}};
  spec.cwd = "/";
  spec.cookie = "c00kie";
  Outcome o = run(spec);
  std::vector<std::string> lines;
  std::istringstream in(o.out);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::sort(lines.begin(), lines.end());
  CHECK(lines == std::vector<std::string>{"A=1", "B=two words", "GANTRY_JOB_COOKIE=c00kie"});
}

TEST_CASE("the child runs in spec.cwd, its own session, with stdin at EOF", "[process]") {
  Outcome o = run(shell("pwd; cat; ps -o sid= -p $$ | tr -d ' '; echo $$"));
  std::istringstream in(o.out);
  std::string cwd, sid, pid;
  std::getline(in, cwd);
  std::getline(in, sid);
  std::getline(in, pid);
  CHECK(cwd == "/tmp");
  CHECK(sid == pid);
}

TEST_CASE("start reports a missing cwd or program clearly", "[process]") {
  Process p;
  std::string error;
  ProcessSpec spec = shell("true");
  spec.cwd = "/nonexistent/gantry-cwd";
  CHECK_FALSE(p.start(spec, error));
  CHECK(error == "chdir /nonexistent/gantry-cwd: No such file or directory");

  spec = shell("true");
  spec.argv = {"/nonexistent/sh"};
  CHECK_FALSE(p.start(spec, error));
  CHECK(error == "exec /nonexistent/sh: No such file or directory");

  spec.argv = {};
  CHECK_FALSE(p.start(spec, error));
  CHECK(p.pid() == -1);
}

TEST_CASE("terminate_tree kills grandchildren that ignore SIGTERM and left the group",
          "[process]") {
  ProcessSpec spec = shell(
      "trap '' TERM\n"
      "sleep 1000 & echo \"bg $!\"\n"
      "setsid sh -c 'echo \"sid $$\"; exec sleep 1000' &\n"
      "sleep 0.2; echo ready; wait\n");
  Process p;
  std::string error;
  REQUIRE(p.start(spec, error));

  std::string out;
  char buf[256];
  while (out.find("ready\n") == std::string::npos) {
    long n = p.read(buf, sizeof buf);
    REQUIRE(n > 0);
    out.append(buf, static_cast<size_t>(n));
  }
  long bg = 0, sid = 0;
  std::istringstream in(out);
  for (std::string word; in >> word;) {
    if (word == "bg") in >> bg;
    if (word == "sid") in >> sid;
  }
  REQUIRE(bg > 0);
  REQUIRE(sid > 0);
  CHECK(pgid_of(bg) == p.pid());
  CHECK(pgid_of(sid) == sid);  // left the group: only the cookie finds it
  CHECK(gantry::agent::signal_cookie_holders(spec.cookie, 0) == 3);

  auto t0 = std::chrono::steady_clock::now();
  p.terminate_tree(500ms);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(elapsed >= 500ms);  // everyone ignored SIGTERM
  CHECK(elapsed < 2500ms);

  CHECK(gantry::agent::signal_cookie_holders(spec.cookie, 0) == 0);
  CHECK(gone(p.pid()));
  CHECK(gone(bg));
  CHECK(gone(sid));
  CHECK(p.wait() == 128 + SIGKILL);
  // Never leave strays behind, even when the checks above failed.
  gantry::agent::signal_cookie_holders(spec.cookie, SIGKILL);
  CHECK(drain(p).empty());  // EOF: no writer left
}

TEST_CASE("zombies reparented to a subreaper agent count as gone", "[process]") {
  REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
  ProcessSpec spec = shell(
      "trap '' TERM\n"
      "setsid sh -c 'echo \"sid $$\"; exec sleep 1000' &\n"
      "sleep 0.2; echo ready; wait\n");
  Process p;
  std::string error;
  REQUIRE(p.start(spec, error));
  std::string out;
  char buf[256];
  while (out.find("ready\n") == std::string::npos) {
    long n = p.read(buf, sizeof buf);
    REQUIRE(n > 0);
    out.append(buf, static_cast<size_t>(n));
  }
  const long sid = std::stol(out.substr(out.find("sid ") + 4));

  auto t0 = std::chrono::steady_clock::now();
  p.terminate_tree(300ms);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(p.wait() == 128 + SIGKILL);
  // The orphan is now our unreaped zombie; waiting on it would use up the
  // whole second after SIGKILL.
  CHECK(elapsed < 1100ms);
  CHECK(gone(sid));
  int status = 0;
  CHECK(::waitpid(static_cast<pid_t>(sid), &status, 0) == sid);
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

TEST_CASE("terminate_tree from another thread ends a cooperative child early", "[process]") {
  ProcessSpec spec = shell("sleep 1000");
  Process p;
  std::string error;
  REQUIRE(p.start(spec, error));
  std::this_thread::sleep_for(100ms);
  auto t0 = std::chrono::steady_clock::now();
  std::thread killer([&] { p.terminate_tree(10s); });
  int status = p.wait();
  killer.join();
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK(status == 128 + SIGTERM);
  CHECK(gantry::agent::signal_cookie_holders(spec.cookie, 0) == 0);
}

TEST_CASE("the cookie must match exactly", "[process]") {
  ProcessSpec spec = shell("sleep 1000");
  spec.cookie = unique_cookie() + "-long";
  Process p;
  std::string error;
  REQUIRE(p.start(spec, error));
  std::this_thread::sleep_for(100ms);
  CHECK(gantry::agent::signal_cookie_holders(spec.cookie.substr(0, spec.cookie.size() - 1), 0) ==
        0);
  CHECK(gantry::agent::signal_cookie_holders("", 0) == 0);
  CHECK(gantry::agent::signal_cookie_holders(spec.cookie, 0) >= 1);
  p.terminate_tree(0ms);
  int status = p.wait();  // no grace: SIGKILL may overtake SIGTERM
  CHECK((status == 128 + SIGTERM || status == 128 + SIGKILL));
}

TEST_CASE("the destructor kills a running tree", "[process]") {
  ProcessSpec spec = shell("trap '' TERM; sleep 1000 & wait");
  long pid = 0;
  {
    Process p;
    std::string error;
    REQUIRE(p.start(spec, error));
    pid = p.pid();
    std::this_thread::sleep_for(100ms);
    CHECK(gantry::agent::signal_cookie_holders(spec.cookie, 0) == 2);
  }
  CHECK(gantry::agent::signal_cookie_holders(spec.cookie, 0) == 0);
  CHECK(gone(pid));
}

TEST_CASE("a step dies with the thread that started it (PR_SET_PDEATHSIG)", "[process]") {
  // The agent's runner thread waits for its step; if the agent dies, so
  // does that thread, and the kernel kills the step.
  Process p;
  bool started = false;
  std::thread starter([&] {
    std::string error;
    started = p.start(shell("sleep 30"), error);
  });
  starter.join();
  REQUIRE(started);
  CHECK(p.wait() == 128 + SIGKILL);
}
