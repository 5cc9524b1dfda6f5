#pragma once
// Test support: a throwaway PostgreSQL cluster for the store's tests (docs/ha.md). initdb and
// pg_ctl from Debian's postgresql run as the unprivileged `postgres` user (through runuser when
// the tests run as root) in a temp dir of its own, the server listening on 127.0.0.1 on a free
// port with its socket in that dir. Started on first use, one per test binary; stopped and
// removed when the binary exits (or, by a watchdog, a second after it dies). fresh_database() gives
// each test an empty database of its own. Not thread-safe (Catch2 runs one case at a time).

#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace gantry::test {

class PostgresqlCluster {
 public:
  // The binary's cluster, started on the first call; throws when it cannot start.
  static PostgresqlCluster& instance() {
    static PostgresqlCluster cluster;
    return cluster;
  }

  // A new empty database: postgresql://postgres@127.0.0.1:PORT/gantry_N.
  std::string fresh_database_url() {
    const std::string name = "gantry_" + std::to_string(++databases_);
    sql("postgres", "CREATE DATABASE " + name);
    return url(name);
  }
  std::string url(const std::string& database) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
  }
  // The database's name in one of fresh_database_url()'s URLs.
  static std::string database_of(const std::string& url) { return url.substr(url.rfind('/') + 1); }

  // Runs `statement` in `database` through psql; returns its unaligned output (no trailing
  // newline). Throws when psql fails.
  std::string sql(const std::string& database, const std::string& statement) const {
    std::string command = bin("psql") + " -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p " +
                          std::to_string(port_) + " -U postgres -d " + database + " -c \"" +
                          statement + "\" 2>&1";
    std::string out;
    if (run(command, out) != 0) throw std::runtime_error("psql failed: " + statement + ": " + out);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  // The server down (fast shutdown: connections are cut) and up again on the same port.
  void stop() { pg_ctl("-m fast stop"); }
  void start() {
    pg_ctl("-w -t 60 -l " + (dir_ / "server.log").string() + " -o \"-p " + std::to_string(port_) +
           " -c listen_addresses=127.0.0.1 -c unix_socket_directories=" + dir_.string() +
           " -c fsync=off -c synchronous_commit=off -c full_page_writes=off\" start");
  }
  int port() const { return port_; }

  ~PostgresqlCluster() {
    std::string out;
    run(as_postgres(bin("pg_ctl") + " -D " + data().string() + " -m immediate stop") + " 2>&1",
        out);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  PostgresqlCluster(const PostgresqlCluster&) = delete;
  PostgresqlCluster& operator=(const PostgresqlCluster&) = delete;

 private:
  PostgresqlCluster() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gantry-pg-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    if (::getuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (!pw) throw std::runtime_error("no postgres user (apt-get install postgresql)");
      if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw std::runtime_error("cannot chown " + dir_.string());
    }
    std::string out;
    std::string initdb = as_postgres(bin("initdb") + " -D " + data().string() +
                                     " -U postgres --auth=trust -E UTF8 --no-locale") +
                         " 2>&1";
    if (run(initdb, out) != 0) throw std::runtime_error("initdb failed: " + out);
    // The free port may be taken before the server binds it (ctest -j): try another.
    for (int attempt = 1;; ++attempt) {
      port_ = free_port();
      try {
        start();
        watch();
        return;
      } catch (const std::runtime_error&) {
        if (attempt == 3) throw;
      }
    }
  }

  std::filesystem::path data() const { return dir_ / "data"; }

  // A watchdog: once this process is gone, however it ended (a crash, a
  // timeout's kill), the server stops and its directory goes, so no cluster
  // outlives its tests. It holds none of the test's output open (ctest waits
  // for that) and ends a second after the process does.
  void watch() const {
    std::string stop = as_postgres(bin("pg_ctl") + " -D " + data().string() + " -m immediate stop");
    std::string watchdog = "(while kill -0 " + std::to_string(::getpid()) +
                           " 2>/dev/null; do sleep 1; done; " + stop + "; rm -rf " + dir_.string() +
                           ") </dev/null >/dev/null 2>&1 &";
    if (std::system(watchdog.c_str()) != 0) throw std::runtime_error("cannot start the watchdog");
  }

  // Debian keeps the server's programs out of PATH, under the newest version's directory.
  static std::string bin(const std::string& program) {
    std::filesystem::path best;
    for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql")) {
      if (entry.path().filename().string() > best.filename().string()) best = entry.path();
    }
    return (best / "bin" / program).string();
  }

  static std::string as_postgres(const std::string& command) {
    return ::getuid() == 0 ? "runuser -u postgres -- " + command : command;
  }

  void pg_ctl(const std::string& args) {
    std::string out;
    std::string command = as_postgres(bin("pg_ctl") + " -D " + data().string() + " " + args);
    if (run(command + " 2>&1", out) != 0)
      throw std::runtime_error("pg_ctl " + args + " failed: " + out);
  }

  static int run(const std::string& command, std::string& out) {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
    if (!pipe) return -1;
    std::array<char, 4096> buffer;
    size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe.get())) > 0)
      out.append(buffer.data(), n);
    return ::pclose(pipe.release());
  }

  static int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(fd);
      throw std::runtime_error("no free port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
  }

  std::filesystem::path dir_;
  int port_ = 0;
  int databases_ = 0;
};

// The two engines of the store, as TEMPLATE_TEST_CASE types: `TestType db; Store store(dir,
// db.url);`. Sqlite's url is empty (gantry.db in the data dir); Postgresql's is a fresh database.
struct Sqlite {
  std::string url;
};
struct Postgresql {
  std::string url = PostgresqlCluster::instance().fresh_database_url();
};

}  // namespace gantry::test
