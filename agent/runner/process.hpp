#pragma once
// One child process of a job step: `/bin/sh -e -c SCRIPT` (or any argv) in
// its own session and process group, stdout and stderr merged into one pipe
// the caller drains. terminate_tree() sends SIGTERM to the group and to every
// process carrying the job's cookie in its environment (GANTRY_JOB_COOKIE,
// so grandchildren that left the group with setsid are found too, as Jenkins
// does with JENKINS_SERVER_COOKIE), then SIGKILL to all of them after the
// grace period.
//
// Blocking calls; meant for a job's runner thread. terminate_tree() may be
// called from another thread while the owner blocks in read()/wait().

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gantry::agent {

// Another user to run the process as (the agent's `job_user`): the child drops to it, with no
// supplementary groups but its own, before it starts the program. Needs the agent to be root.
struct RunAs {
  unsigned uid = 0, gid = 0;
};

// Gives `root` and everything under it (symbolic links themselves, not their targets) to
// `user`. False with `error` at the first entry that cannot be given or walked.
bool give_tree(const std::string& root, const RunAs& user, std::string& error);

struct ProcessSpec {
  std::vector<std::string> argv;           // argv[0] is a path, e.g. /bin/sh
  std::map<std::string, std::string> env;  // the complete environment
  std::string cwd;
  std::string cookie;  // exported as GANTRY_JOB_COOKIE
  std::optional<RunAs> run_as;
};

class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();  // kills the tree (no grace) if still running, closes the pipe

  // Starts the child (clone with CLONE_VM | CLONE_VFORK, then execve: no
  // copy of the caller's address space). On failure returns false and sets
  // `error`. The child gets SIGKILL when the calling thread ends
  // (PR_SET_PDEATHSIG), so call it from the thread that waits for it.
  bool start(const ProcessSpec& spec, std::string& error);

  // Reads merged output; returns 0 at end of output, -1 on error (EINTR retried).
  long read(char* buf, size_t len);

  // Waits for the child; returns its exit status as the shell reports it:
  // the exit code, or 128 + signal number when killed by a signal.
  int wait();

  // SIGTERM to the process group and to cookie holders, then SIGKILL to all
  // of them after `grace` unless they are gone. Blocks up to `grace` + 1 s.
  void terminate_tree(std::chrono::milliseconds grace);

  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  int out_fd_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string cookie_;
};

// This process's environment as a map (GANTRY_JOB_COOKIE left out: it is each job's own).
std::map<std::string, std::string> process_environment();

// The first executable NAME in the directories of `path` (':'-separated), then /usr/bin
// and /bin; empty when there is none.
std::string find_on_path(const std::string& name, const std::string& path);

// Sends `sig` to every process (other than the caller) whose environment holds
// GANTRY_JOB_COOKIE=cookie. Returns how many were signalled.
int signal_cookie_holders(const std::string& cookie, int sig);

}  // namespace gantry::agent
