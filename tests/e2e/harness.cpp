#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "../support/postgresql_cluster.hpp"
#include "gantry/net/http_client.hpp"
#include "gantry/net/url.hpp"

namespace gantry::e2e {

namespace fs = std::filesystem;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/gantry-e2e-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path = tmpl;
}

TempDir::~TempDir() {
  if (std::getenv("GANTRY_E2E_KEEP")) {  // for debugging a failed case
    std::fprintf(stderr, "kept %s\n", path.c_str());
    return;
  }
  std::error_code ec;
  fs::remove_all(path, ec);
}

Child::~Child() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

bool Child::start(const std::vector<std::string>& argv, const std::string& log_path,
                  const std::map<std::string, std::string>& env) {
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  pid_ = pid;
  return true;
}

void Child::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

int Child::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

bool Child::alive() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

bool store_on_postgresql() {
  const char* database = std::getenv("GANTRY_E2E_DATABASE");
  return database && std::string_view(database) == "postgresql";
}

std::string sqlite3_cli(const std::string& db, const std::string& sql, const std::string& dir) {
  std::string script = dir + "/tamper.sql";
  std::ofstream(script) << sql;
  std::string cmd = "sqlite3 '" + db + "' < '" + script + "' 2>&1";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[512];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

bool process_alive(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')');
  return !(close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z');
}

std::map<std::string, json> stages_by_id(const json& run) {
  std::map<std::string, json> out;
  if (run.is_object() && run.contains("stages")) {
    for (const auto& s : run["stages"]) out[s.value("id", "")] = s;
  }
  return out;
}

json stage_of(const json& run, const std::string& id) {
  auto stages = stages_by_id(run);
  auto it = stages.find(id);
  return it == stages.end() ? json() : it->second;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

static std::string hex(const unsigned char* d, unsigned n) {
  static const char* k = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += k[d[i] >> 4];
    out += k[d[i] & 15];
  }
  return out;
}

std::string hmac_sha256_hex(const std::string& secret, const std::string& body) {
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  std::string hex;
  char b[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", mac[i]);
    hex += b;
  }
  return hex;
}

std::string sha256(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
  return hex(md, n);
}

std::string sha256_file(const std::string& path) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::ifstream in(path, std::ios::binary);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_DigestFinal_ex(ctx, md, &n);
  EVP_MD_CTX_free(ctx);
  return hex(md, n);
}

Cluster::Cluster(std::string config_yaml) : config_yaml_(std::move(config_yaml)) {
  config_path_ = tmp_.path + "/controller.yml";
  write_config();
}

// The file is written once from the constructor's YAML; later writes keep what tests added to it
// and only update the listen line and the repositories section below kReposMarker.
constexpr const char* kReposMarker = "# repositories (tests/e2e/harness.cpp)\n";

void Cluster::write_config() {
  std::string text = read_file(config_path_);
  if (text.empty()) {
    text = "listen: 127.0.0.1:0\n";
    text += "data_dir: " + tmp_.path + "/data\n";
    // GANTRY_E2E_DATABASE=postgresql: the controller's store in a fresh database of the binary's
    // throwaway PostgreSQL cluster (docs/ha.md), kept across the controller's restarts. The
    // shortest lease: a controller restarted after a kill -9 leads once its own old lease has
    // run out, within the 10 s start_controller() waits.
    if (store_on_postgresql()) {
      text += "database: {url: '" + test::PostgresqlCluster::instance().fresh_database_url() +
              "', lease: 3s}\n";
    }
    if (config_yaml_.find("agent_lost_after") == std::string::npos)
      text += "agent_lost_after: 3s\n";
    // Developers may run the repositories the tests make by their paths (SPEC §9: URL runs of
    // unconfigured repositories need an allowed prefix); such runs get no secrets and no gated
    // deploy: watch_repository() makes one a configured repository.
    if (config_yaml_.find("allowed_run_urls") == std::string::npos)
      text += "allowed_run_urls: [\"" + tmp_.path + "/\"]\n";
    text += config_yaml_;
    if (!text.empty() && text.back() != '\n') text += '\n';
  }
  if (auto at = text.find(kReposMarker); at != std::string::npos) text.resize(at);
  const std::string listen = "listen: 127.0.0.1:";
  if (auto at = text.find(listen); at != std::string::npos) {
    auto end = text.find('\n', at);
    text.replace(at, end - at, listen + std::to_string(port));
  }
  if (!repositories_.empty()) {
    text += kReposMarker;
    text += "repositories:\n";
    for (const auto& [name, url, extra] : repositories_)
      text += "  - {name: " + name + ", url: \"" + url + "\", poll: 0s" +
              (extra.empty() ? "" : ", " + extra) + "}\n";
  }
  std::ofstream(config_path_, std::ios::trunc) << text;
}

void Cluster::add_repository(const std::string& name, const std::string& url,
                             const std::string& extra) {
  repositories_.emplace_back(name, url, extra);
  write_config();
}

std::string Cluster::watch_repository(const std::string& path) {
  std::string name = fs::path(path).filename().string();
  add_repository(name, path);
  signal_controller(SIGHUP);
  for (int i = 0; i < 500; ++i) {
    json repos = get_json("/api/v1/repos");
    if (repos.is_object()) {
      for (const auto& r : repos.value("repos", json::array())) {
        if (r.value("name", "") == name) return name;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("the controller did not watch " + path + " after a reload");
}

Cluster::~Cluster() {
  for (auto& a : agents_) {
    if (a) a->signal(SIGKILL);
  }
  if (controller_) controller_->signal(SIGKILL);
}

void Cluster::signal_controller(int sig) {
  if (controller_) controller_->signal(sig);
}

void Cluster::start_controller() {
  std::string addr_file = tmp_.path + "/data/controller.addr";
  std::error_code ec;
  // A restart listens where the agents (and proxies) already point.
  if (port != 0) write_config();
  fs::remove(addr_file, ec);
  controller_ = std::make_unique<Child>();
  if (!controller_->start({GANTRY_CONTROLLER_BIN, "--config", config_path_},
                          tmp_.path + "/controller.log"))
    throw std::runtime_error("cannot start the controller");
  for (int i = 0; i < 500; ++i) {
    std::string addr = read_file(addr_file);
    if (!addr.empty() && addr.back() == '\n') {
      url = addr.substr(0, addr.size() - 1);
      auto u = net::parse_url(url);
      port = u ? u->port : 0;
      admin_token = read_file(tmp_.path + "/data/admin.token");
      agent_token = read_file(tmp_.path + "/data/agent.token");
      while (!admin_token.empty() && std::isspace(static_cast<unsigned char>(admin_token.back())))
        admin_token.pop_back();
      while (!agent_token.empty() && std::isspace(static_cast<unsigned char>(agent_token.back())))
        agent_token.pop_back();
      return;
    }
    if (!controller_->alive()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("the controller did not start:\n" +
                           read_file(tmp_.path + "/controller.log"));
}

void Cluster::stop_controller(int sig) {
  if (!controller_) return;
  controller_->signal(sig);
  controller_->wait(std::chrono::seconds(10));
  controller_.reset();
}

int Cluster::start_agent(AgentOptions o) {
  int index = static_cast<int>(agents_.size());
  if (o.name.empty()) o.name = "agent" + std::to_string(index + 1);
  std::vector<std::string> argv = {GANTRY_AGENT_BIN,
                                   "--controller",
                                   o.controller.empty() ? url : o.controller,
                                   "--name",
                                   o.name,
                                   "--executors",
                                   std::to_string(o.executors),
                                   "--work",
                                   tmp_.path + "/" + o.name};
  std::map<std::string, std::string> env = o.env;
  if (o.token == AgentOptions::Token::File) {
    argv.insert(argv.end(), {"--token-file", o.token_file.empty() ? tmp_.path + "/data/agent.token"
                                                                  : o.token_file});
  } else if (o.token == AgentOptions::Token::CommandLine) {
    argv.insert(argv.end(), {"--token", agent_token});
  } else {
    env["GANTRY_AGENT_TOKEN"] = agent_token;
  }
  argv.insert(argv.end(), {"--container-engine", o.container_engine});
  argv.insert(argv.end(), o.extra_args.begin(), o.extra_args.end());
  if (!o.labels.empty()) {
    std::string l;
    for (const auto& x : o.labels) l += (l.empty() ? "" : ",") + x;
    argv.push_back("--labels");
    argv.push_back(l);
  }
  auto child = std::make_unique<Child>();
  if (!child->start(argv, tmp_.path + "/" + o.name + ".log", env))
    throw std::runtime_error("cannot start an agent");
  agents_.push_back(std::move(child));
  return index;
}

void Cluster::stop_agent(int index, int sig) {
  auto& a = agents_[static_cast<size_t>(index)];
  if (!a) return;
  a->signal(sig);
  a->wait(std::chrono::seconds(10));
}

HttpResult Cluster::http(const std::string& method, const std::string& path,
                         const std::string& body, const std::string& token,
                         const std::vector<std::pair<std::string, std::string>>& headers) {
  net::ClientRequest req;
  req.headers = headers;
  req.method = method;
  req.url = url + path;
  req.bearer_token = token == "<admin>" ? admin_token : token;
  req.tls.ca_file = ca_file;
  req.body = body;
  req.timeout = std::chrono::seconds(20);
  net::ClientResponse r = net::http_request(req);
  HttpResult out;
  if (!r.ok) return out;
  out.status = r.status;
  out.body = r.body;
  out.headers = r.headers;
  return out;
}

json Cluster::get_json(const std::string& path) {
  HttpResult r = http("GET", path);
  json j = json::parse(r.body, nullptr, false);
  return j.is_discarded() ? json() : j;
}

CliResult Cluster::cli(const std::vector<std::string>& args) {
  std::string cmd = "GANTRY_SERVER='" + url + "' GANTRY_TOKEN='" + admin_token + "' ";
  if (!ca_file.empty()) cmd += "GANTRY_CA='" + ca_file + "' ";
  cmd += GANTRY_BIN;
  for (const auto& a : args) {
    std::string q;
    for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    cmd += " '" + q + "'";
  }
  return shell(cmd + " 2>&1");
}

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

CliResult shell(const std::string& command) {
  CliResult out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.out.append(buf, n);
  int status = ::pclose(p);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

json Cluster::wait_run(int64_t id, std::chrono::seconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  json j;
  while (std::chrono::steady_clock::now() < end) {
    j = get_json("/api/v1/runs/" + std::to_string(id));
    std::string s = j.is_object() ? j.value("status", "") : "";
    if (s == "succeeded" || s == "failed" || s == "unstable" || s == "aborted") return j;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("run " + std::to_string(id) + " did not finish: " + j.dump());
}

json Cluster::wait_stage(int64_t id, const std::string& stage, const std::string& status,
                         std::chrono::seconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  json j;
  while (std::chrono::steady_clock::now() < end) {
    j = get_json("/api/v1/runs/" + std::to_string(id));
    if (j.is_object() && j.contains("stages")) {
      for (const auto& s : j["stages"]) {
        if (s.value("id", "") == stage && s.value("status", "") == status) return s;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("stage " + stage + " never became " + status + ": " + j.dump());
}

void Cluster::wait_agents(size_t connected, std::chrono::seconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    json j = get_json("/api/v1/agents");
    size_t n = 0;
    if (j.is_object() && j.contains("agents")) {
      for (const auto& a : j["agents"]) n += a.value("connected", false) ? 1 : 0;
    }
    if (n >= connected) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("agents did not connect");
}

std::string Cluster::stage_log(int64_t id, const std::string& stage) {
  return http("GET", "/api/v1/runs/" + std::to_string(id) + "/log?stage=" + net::url_encode(stage))
      .body;
}

std::string Cluster::stage_log(int64_t id, const std::string& stage, int attempt) {
  std::string path = "/api/v1/runs/" + std::to_string(id) + "/log?stage=" + net::url_encode(stage);
  if (attempt > 0) path += "&attempt=" + std::to_string(attempt);
  return http("GET", path).body;
}

int64_t Cluster::stage_log_size(int64_t id, const std::string& stage, int attempt) {
  // An offset past any log: headers only.
  std::string path = "/api/v1/runs/" + std::to_string(id) + "/log?stage=" + net::url_encode(stage) +
                     "&offset=18446744073709551615";
  if (attempt > 0) path += "&attempt=" + std::to_string(attempt);
  HttpResult r = http("GET", path);
  auto it = r.headers.find("x-gantry-log-size");
  if (r.status != 200 || it == r.headers.end()) return -1;
  return std::stoll(it->second);
}

int64_t Cluster::trigger(const std::string& repo,
                         const std::map<std::string, std::string>& params) {
  json body = {{"repo", repo}};
  if (!params.empty()) body["params"] = params;
  HttpResult r = http("POST", "/api/v1/runs", body.dump());
  json j = json::parse(r.body, nullptr, false);
  if (r.status != 201 || !j.is_object()) throw std::runtime_error("trigger failed: " + r.body);
  return j.value("id", int64_t{0});
}

std::string Cluster::make_repo(const std::map<std::string, std::string>& files) {
  std::string dir = tmp_.path + "/repo" + std::to_string(++repos_);
  fs::create_directories(dir);
  for (const auto& [name, content] : files) {
    fs::path p = fs::path(dir) / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    if (name.size() > 3 && name.compare(name.size() - 3, 3, ".sh") == 0)
      fs::permissions(p, fs::perms::owner_exec, fs::perm_options::add);
  }
  std::string cmd = "cd '" + dir +
                    "' && git init -q -b main && git add -A && git -c user.name=Tess -c "
                    "user.email=t@example.com commit -qm init";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("git failed in " + dir);
  return dir;
}

// ---- fault proxy

}  // namespace gantry::e2e
