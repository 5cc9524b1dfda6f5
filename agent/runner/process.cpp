#include "process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <thread>

namespace gantry::agent {
namespace {

constexpr const char* kCookieVar = "GANTRY_JOB_COOKIE=";
constexpr auto kPollInterval = std::chrono::milliseconds(50);
constexpr auto kKillWait = std::chrono::seconds(1);

// Reads a whole /proc file; returns false when it cannot be opened (the
// process is gone or belongs to someone we may not inspect).
bool read_proc_file(const std::string& path, std::string& out) {
  out.clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

struct ProcStat {
  char state = '?';
  long pgrp = -1;
};

// /proc/PID/stat is "pid (comm) state ppid pgrp ..."; comm may hold spaces
// and parentheses, so parse from the last ')'.
bool read_stat(long pid, ProcStat& st) {
  std::string text;
  if (!read_proc_file("/proc/" + std::to_string(pid) + "/stat", text)) return false;
  size_t close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return false;
  const char* p = text.c_str() + close + 2;
  st.state = *p;
  long ppid = 0;
  return std::sscanf(p + 1, " %ld %ld", &ppid, &st.pgrp) == 2;
}

bool environ_has(long pid, const std::string& entry) {
  std::string env;
  if (!read_proc_file("/proc/" + std::to_string(pid) + "/environ", env)) return false;
  size_t pos = 0;
  while (pos < env.size()) {
    size_t end = env.find('\0', pos);
    if (end == std::string::npos) end = env.size();
    if (env.compare(pos, end - pos, entry) == 0) return true;
    pos = end + 1;
  }
  return false;
}

// Live (non-zombie) processes other than ourselves that are in group `pgid`
// (when pgid > 0) or carry `cookie` (when non-empty). Zombies are skipped:
// they hold no resources and may be children reparented to a subreaper.
std::set<long> scan(long pgid, const std::string& cookie) {
  std::set<long> found;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return found;
  const long self = ::getpid();
  const std::string entry = cookie.empty() ? std::string() : kCookieVar + cookie;
  while (dirent* de = ::readdir(dir)) {
    char* end = nullptr;
    long pid = std::strtol(de->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == self) continue;
    ProcStat st;
    if (!read_stat(pid, st) || st.state == 'Z' || st.state == 'X') continue;
    if ((pgid > 0 && st.pgrp == pgid) || (!entry.empty() && environ_has(pid, entry))) {
      found.insert(pid);
    }
  }
  ::closedir(dir);
  return found;
}

// Signals `pids` and, once, the group. Stopped processes only see SIGTERM
// once continued. `seen` remembers who was signalled so a shell that traps
// SIGTERM gets it once, not at every poll.
void signal_new(long pgid, const std::set<long>& pids, int sig, std::set<long>& seen) {
  if (seen.empty() && pgid > 0) {
    ::kill(static_cast<pid_t>(-pgid), sig);
    if (sig == SIGTERM) ::kill(static_cast<pid_t>(-pgid), SIGCONT);
  }
  for (long pid : pids) {
    if (!seen.insert(pid).second) continue;
    ::kill(static_cast<pid_t>(pid), sig);
    if (sig == SIGTERM) ::kill(static_cast<pid_t>(pid), SIGCONT);
  }
}

// Sends `sig` to the tree, then polls until it is gone or `budget` passes,
// signalling processes forked since the last scan. Returns true when gone.
bool signal_and_wait(long pgid, const std::string& cookie, int sig,
                     std::chrono::steady_clock::duration budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  std::set<long> seen;
  for (;;) {
    std::set<long> left = scan(pgid, cookie);
    if (left.empty()) return true;
    signal_new(pgid, left, sig, seen);
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Runs in the forked child: only async-signal-safe calls from here on.
[[noreturn]] void exec_child(int out_w, int null_fd, int err_w, const char* cwd, char* const* argv,
                             char* const* envp, pid_t parent) {
  auto fail = [&err_w](int stage) {
    int msg[2] = {stage, errno};
    ssize_t ignored = ::write(err_w, msg, sizeof msg);
    (void)ignored;
    ::_exit(127);
  };
  ::setsid();
  // The step dies with the agent (kill -9 included): a job must not keep
  // running after its agent is gone, or a retry elsewhere would overlap it.
  // Its grandchildren are killed by cookie when the agent restarts.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);
  // Move our fds above 2 first so dup2 onto 0..2 cannot clobber them.
  int out = ::fcntl(out_w, F_DUPFD, 3);
  int nul = ::fcntl(null_fd, F_DUPFD, 3);
  err_w = ::fcntl(err_w, F_DUPFD_CLOEXEC, 3);
  if (out < 0 || nul < 0 || err_w < 0) ::_exit(127);
  if (::dup2(nul, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) fail(0);
  // Nothing of the agent (sockets, spool files) leaks into the step.
  if (err_w > 3) ::close_range(3, static_cast<unsigned>(err_w - 1), 0);
  ::close_range(static_cast<unsigned>(err_w + 1), ~0U, 0);
  // Signals stay blocked (see start) until the agent's handlers are gone.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::chdir(cwd) != 0) fail(1);
  ::execve(argv[0], argv, envp);
  fail(2);
  ::_exit(127);
}

}  // namespace

int signal_cookie_holders(const std::string& cookie, int sig) {
  if (cookie.empty()) return 0;
  int count = 0;
  for (long pid : scan(-1, cookie)) {
    if (::kill(static_cast<pid_t>(pid), sig) == 0) ++count;
  }
  return count;
}

Process::~Process() {
  if (pid_ > 0 && !reaped_) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == 0) {
      terminate_tree(std::chrono::milliseconds(0));
      wait();
    } else if (r == pid_) {
      reaped_ = true;
    }
  }
  close_fd(out_fd_);
}

bool Process::start(const ProcessSpec& spec, std::string& error) {
  if (pid_ > 0) {
    error = "process already started";
    return false;
  }
  if (spec.argv.empty() || spec.argv[0].empty()) {
    error = "empty argv";
    return false;
  }
  // Everything the child needs is built before fork: no allocation after it.
  std::vector<std::string> env_strings;
  env_strings.reserve(spec.env.size() + 1);
  for (const auto& [key, value] : spec.env) {
    if (key != "GANTRY_JOB_COOKIE") env_strings.push_back(key + "=" + value);
  }
  env_strings.push_back(kCookieVar + spec.cookie);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  const std::string cwd = spec.cwd.empty() ? "." : spec.cwd;

  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    for (int* fd : {&null_fd, &out[0], &out[1], &err[0], &err[1]}) close_fd(*fd);
    return false;
  }
  // Block signals across fork so the agent's handlers never run in the child.
  sigset_t all, old_mask;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old_mask);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) exec_child(out[1], null_fd, err[1], cwd.c_str(), argv.data(), envp.data(), parent);
  int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  close_fd(out[1]);
  close_fd(err[1]);
  close_fd(null_fd);
  if (pid < 0) {
    error = std::string("fork: ") + std::strerror(fork_errno);
    close_fd(out[0]);
    close_fd(err[0]);
    return false;
  }
  // The error pipe closes on a successful exec; otherwise it carries
  // {stage, errno} from the child.
  int msg[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(err[0], msg, sizeof msg);
  } while (n < 0 && errno == EINTR);
  close_fd(err[0]);
  if (n == static_cast<ssize_t>(sizeof msg)) {
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    close_fd(out[0]);
    const char* what = msg[0] == 1 ? "chdir " : msg[0] == 2 ? "exec " : "dup2 ";
    const std::string& subject = msg[0] == 1 ? cwd : spec.argv[0];
    error = what + subject + ": " + std::strerror(msg[1]);
    return false;
  }
  pid_ = pid;
  out_fd_ = out[0];
  reaped_ = false;
  status_ = 0;
  cookie_ = spec.cookie;
  return true;
}

long Process::read(char* buf, size_t len) {
  if (out_fd_ < 0) return -1;
  for (;;) {
    ssize_t n = ::read(out_fd_, buf, len);
    if (n >= 0) return static_cast<long>(n);
    if (errno != EINTR) return -1;
  }
}

int Process::wait() {
  if (pid_ <= 0) return -1;
  if (reaped_) return status_;
  int st = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &st, 0);
  } while (r < 0 && errno == EINTR);
  if (r != pid_) return -1;
  reaped_ = true;
  if (WIFEXITED(st)) {
    status_ = WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    status_ = 128 + WTERMSIG(st);
  } else {
    status_ = -1;
  }
  return status_;
}

void Process::terminate_tree(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return;
  // The child called setsid(), so its pid is its process group id.
  const long pgid = pid_;
  if (signal_and_wait(pgid, cookie_, SIGTERM, grace)) return;
  signal_and_wait(pgid, cookie_, SIGKILL, kKillWait);
}

}  // namespace gantry::agent
