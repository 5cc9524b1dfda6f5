#include "process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>

extern char** environ;

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

// What the child needs, built before it starts (it must not allocate), and
// where it reports a failure before execve: `stage` (0 dup2, 1 chdir, 2 exec)
// and `error` (errno). The child shares this memory with the agent.
struct ChildArgs {
  int out_w = -1;
  int null_fd = -1;
  const char* cwd = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  pid_t parent = -1;
  bool drop = false;  // to uid/gid, before anything else
  uid_t uid = 0;
  gid_t gid = 0;
  int stage = -1;
  int error = 0;
};

constexpr size_t kChildStack = size_t{64} << 10;

// Runs in the child, started by clone(CLONE_VM | CLONE_VFORK): it runs on its
// own small stack in the agent's memory, while the thread that started it
// waits, until execve or _exit. So no fork() copy of the agent's page tables;
// only system calls from here on, and nothing written but `stage` and
// `error`. The agent's signal handlers are not shared (no CLONE_SIGHAND).
__attribute__((no_sanitize("address", "undefined"))) int exec_child(void* arg) {
  auto* a = static_cast<ChildArgs*>(arg);
  ::setsid();
  if (a->drop) {
    // Raw system calls: glibc's setuid() and friends change every thread of the process, and
    // this child shares the agent's memory and thread list (CLONE_VM). The kernel's change is
    // this task's only. Groups first, then the group, then the user (after which nothing else
    // may be changed back).
    const gid_t groups[1] = {a->gid};
    if (::syscall(SYS_setgroups, 1, groups) != 0 ||
        ::syscall(SYS_setresgid, a->gid, a->gid, a->gid) != 0 ||
        ::syscall(SYS_setresuid, a->uid, a->uid, a->uid) != 0) {
      a->stage = 3;
      a->error = errno;
      ::_exit(127);
    }
  }
  // The step dies with the agent (kill -9 included): a job must not keep
  // running after its agent is gone, or a retry elsewhere would overlap it.
  // Its grandchildren are killed by cookie when the agent restarts. (The
  // signal comes when the thread that started the step ends: the job's
  // runner thread, which waits for the step.)
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != a->parent) ::_exit(127);
  // Move our fds above 2 first so dup2 onto 0..2 cannot clobber them.
  int out = ::fcntl(a->out_w, F_DUPFD, 3);
  int nul = ::fcntl(a->null_fd, F_DUPFD, 3);
  if (out < 0 || nul < 0 || ::dup2(nul, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) {
    a->stage = 0;
    a->error = errno;
    ::_exit(127);
  }
  // Nothing of the agent (sockets, spool files) leaks into the step.
  ::close_range(3, ~0U, 0);
  // Signals stay blocked (see start) until the agent's handlers are gone.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::chdir(a->cwd) != 0) {
    a->stage = 1;
  } else {
    ::execve(a->argv[0], a->argv, a->envp);
    a->stage = 2;
  }
  a->error = errno;
  ::_exit(127);
}

}  // namespace

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  env.erase("GANTRY_JOB_COOKIE");
  return env;
}

std::string find_on_path(const std::string& name, const std::string& path_list) {
  std::string path = path_list + ":/usr/bin:/bin";
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = std::min(path.find(':', pos), path.size());
    if (end > pos) {
      std::string candidate = path.substr(pos, end - pos) + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    pos = end + 1;
  }
  return {};
}

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
  // Everything the child needs is built before it starts: no allocation in it.
  std::vector<std::string> env_strings;
  env_strings.reserve(spec.env.size() + 1);
  for (const auto& [key, value] : spec.env) {
    if (key == "GANTRY_JOB_COOKIE") continue;
    std::string& entry = env_strings.emplace_back();
    entry.reserve(key.size() + 1 + value.size());
    entry.append(key).append(1, '=').append(value);
  }
  env_strings.push_back(kCookieVar + spec.cookie);
  std::vector<char*> envp;
  envp.reserve(env_strings.size() + 1);
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  const std::string cwd = spec.cwd.empty() ? "." : spec.cwd;

  int out[2] = {-1, -1};
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0 || ::pipe2(out, O_CLOEXEC) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    for (int* fd : {&null_fd, &out[0], &out[1]}) close_fd(*fd);
    return false;
  }
  void* stack = ::mmap(nullptr, kChildStack, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
  if (stack == MAP_FAILED) {
    error = std::string("mmap: ") + std::strerror(errno);
    for (int* fd : {&null_fd, &out[0], &out[1]}) close_fd(*fd);
    return false;
  }
  ChildArgs child;
  child.out_w = out[1];
  child.null_fd = null_fd;
  child.cwd = cwd.c_str();
  child.argv = argv.data();
  child.envp = envp.data();
  child.parent = ::getpid();
  if (spec.run_as) {
    child.drop = true;
    child.uid = spec.run_as->uid;
    child.gid = spec.run_as->gid;
  }
  // Block signals across the clone so the agent's handlers never run in the
  // child. clone returns once the child has called execve or exited.
  sigset_t all, old_mask;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old_mask);
  pid_t pid = ::clone(exec_child, static_cast<char*>(stack) + kChildStack,
                      CLONE_VM | CLONE_VFORK | SIGCHLD, &child);
  int clone_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::munmap(stack, kChildStack);
  close_fd(out[1]);
  close_fd(null_fd);
  if (pid < 0) {
    error = std::string("clone: ") + std::strerror(clone_errno);
    close_fd(out[0]);
    return false;
  }
  if (child.stage >= 0) {
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    close_fd(out[0]);
    const char* what = child.stage == 1   ? "chdir "
                       : child.stage == 2 ? "exec "
                       : child.stage == 3 ? "switch to the job user for "
                                          : "dup2 ";
    const std::string& subject = child.stage == 1 ? cwd : spec.argv[0];
    error = what + subject + ": " + std::strerror(child.error);
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

bool give_tree(const std::string& root, const RunAs& user, std::string& error) {
  namespace fs = std::filesystem;
  auto give = [&](const fs::path& p) {
    if (::lchown(p.c_str(), user.uid, user.gid) == 0) return true;
    error = "cannot give " + p.string() + " to the job user: " + std::strerror(errno);
    return false;
  };
  if (!give(root)) return false;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (!give(it->path())) return false;
  }
  if (ec) error = "cannot walk " + root + ": " + ec.message();
  return !ec;
}

}  // namespace gantry::agent
