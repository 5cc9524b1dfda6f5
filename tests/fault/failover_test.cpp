// Controllers sharing PostgreSQL (SPEC §14, docs/ha.md): one leads through the lease row, the
// others follow; the leader's kill -9, its pause past the lease, a PostgreSQL restart. Three
// real controllers on one throwaway PostgreSQL cluster (tests/support/postgresql_cluster.hpp)
// and one shared data directory (the logs, the artifacts, the tokens), a real agent given the
// three URLs. Each case prints its seed; `make soak` runs each 20 times.
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <thread>

#include "../support/postgresql_cluster.hpp"
#include "fault_support.hpp"
#include "gantry/net/event_loop.hpp"
#include "gantry/net/http_server.hpp"
#include "gantry/protocol/codec.hpp"

using namespace gantry::fault;

namespace {

constexpr const char* kLease = "3s";

// The first controller is the harness's Cluster (it leads: it starts first); the followers
// run the same config on ports of their own, with the same database and data directory.
struct SharedControllers {
  // `through`: the first controller reaches PostgreSQL through this proxy (the others directly),
  // with libpq's timeouts short enough that a cut fails its statements within seconds.
  // `extra`: more controller config; `followers`: how many to start now (more: start_follower()).
  explicit SharedControllers(const std::string& extra = "", int followers = 2,
                             FaultProxy* through = nullptr)
      : database(gantry::test::PostgresqlCluster::instance().fresh_database_url()),
        c("agent_lost_after: 10s\ndatabase: {url: \"" + leader_url_of(database, through) +
          "\", lease: " + kLease + "}\n" + extra) {
    c.start_controller();
    REQUIRE(leader_url() == c.url);
    for (int i = 0; i < followers; ++i) start_follower();
  }

  // What the leader wrote in the shared data directory (each leader writes it when it starts).
  std::string leader_url() const {
    std::string addr = read_file(c.dir() + "/data/controller.addr");
    while (!addr.empty() && addr.back() == '\n') addr.pop_back();
    return addr;
  }

  static std::string leader_url_of(const std::string& database, FaultProxy* through) {
    if (!through) return database;
    const std::string port =
        ":" + std::to_string(gantry::test::PostgresqlCluster::instance().port());
    std::string url = database;
    url.replace(url.find(port), port.size(), ":" + std::to_string(through->port()));
    return url + "?connect_timeout=2&tcp_user_timeout=1500&keepalives_idle=1&keepalives_interval=1";
  }

  void start_follower() {
    const uint16_t port = gantry::e2e::free_port();
    std::string text = read_file(c.config_path());
    // The followers reach the database directly.
    if (auto db = text.find("database: {url: \""); db != std::string::npos) {
      const size_t from = db + 17, to = text.find('"', from);
      text.replace(from, to - from, database);
    }
    const std::string listen = "listen: 127.0.0.1:";
    auto at = text.find(listen);
    REQUIRE(at != std::string::npos);
    text.replace(at, text.find('\n', at) - at, listen + std::to_string(port));
    const size_t index = followers.size();
    const std::string config = c.dir() + "/follower" + std::to_string(index) + ".yml";
    std::ofstream(config) << text;
    auto child = std::make_unique<Child>();
    REQUIRE(child->start({GANTRY_CONTROLLER_BIN, "--config", config},
                         c.dir() + "/follower" + std::to_string(index) + ".log"));
    const std::string url = "http://127.0.0.1:" + std::to_string(port);
    // Following: /healthz says so and names the leader.
    REQUIRE(wait_for(
        [&] {
          HttpResult h = get(url + "/healthz");
          return h.status == 503 && h.body.find("\"follower\"") != std::string::npos &&
                 h.body.find(c.url) != std::string::npos;
        },
        std::chrono::seconds(20)));
    followers.push_back(std::move(child));
    follower_urls.push_back(url);
  }

  static HttpResult get(const std::string& url) {
    CliResult r = gantry::e2e::shell("curl -s -o /dev/stdout -w '\\n%{http_code}' --max-time 5 '" +
                                     url + "' 2>/dev/null");
    HttpResult h;
    auto nl = r.out.rfind('\n');
    if (nl == std::string::npos) return h;
    h.status = std::atoi(r.out.c_str() + nl + 1);
    h.body = r.out.substr(0, nl);
    return h;
  }

  // Every controller's URL, the leader's first: what the agents are given.
  std::string all_urls() const {
    std::string out = c.url;
    for (const std::string& u : follower_urls) out += "," + u;
    return out;
  }

  // After the leader is gone: waits until a follower leads (its /healthz says 200), points the
  // harness at it and returns how long that took.
  std::chrono::milliseconds await_new_leader(const std::string& old_url) {
    const auto since = std::chrono::steady_clock::now();
    std::string leader;
    REQUIRE(wait_for(
        [&] {
          for (const std::string& u : follower_urls) {
            if (u != old_url && get(u + "/healthz").status == 200) {
              leader = u;
              return true;
            }
          }
          return false;
        },
        std::chrono::seconds(30), std::chrono::milliseconds(50)));
    c.url = leader;
    c.port = static_cast<uint16_t>(std::stoi(leader.substr(leader.rfind(':') + 1)));
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 since);
  }

  std::string database;
  Cluster c;
  std::vector<std::unique_ptr<Child>> followers;
  std::vector<std::string> follower_urls;
};

// A run whose one step counts its own starts in a marker file (a job run twice would count 2),
// then streams 20 blocks of 200 numbered lines for about 6 s.
struct StreamRun {
  explicit StreamRun(SharedControllers& s) : c(s.c) {
    c.start_agent({"A", {}, 1, s.all_urls()});
    c.wait_agents(1);
    id = c.trigger(c.make_repo({{"Jenkinsfile", stream_pipeline(command)}}));
  }
  // Once the stage has stored `bytes` of its log.
  void wait_log(int64_t bytes) {
    REQUIRE(wait_for([&] { return c.stage_log_size(id, "Stream") >= bytes; },
                     std::chrono::seconds(60)));
  }
  // The run succeeded at its first attempt, its log byte-exact, its step started once.
  void check_once() {
    json run = c.wait_run(id, std::chrono::seconds(90));
    CHECK(run["status"] == "succeeded");
    CHECK(stage_of(run, "Stream")["attempts"] == 1);
    const std::string want = expected_log(run, command, output);
    const std::string got = c.stage_log(id, "Stream");
    CHECK(got.size() == want.size());
    CHECK(sha256(got) == sha256(want));
    CHECK(read_file(marker) == "start\n");
  }

  static constexpr int kChunks = 20, kLines = 200;
  Cluster& c;
  const std::string marker = c.dir() + "/starts";
  const std::string command =
      "echo start >> " + marker + " && " + stream_command(kChunks, kLines, "0.3");
  const std::string output = stream_bytes(kChunks, kLines);
  int64_t id = 0;
};

}  // namespace

TEST_CASE("HA: kill -9 of the leader mid-run: a follower leads, the job runs on, once, byte-exact",
          "[postgresql]") {
  FAULT_SEED(seed);
  SharedControllers s;
  Cluster& c = s.c;
  StreamRun stream(s);
  stream.wait_log(seed.uniform(1, StreamRun::kChunks / 2) * StreamRun::kLines * 64);
  const std::string old = c.url;
  c.stop_controller(SIGKILL);
  auto took = s.await_new_leader(old);
  INFO("a follower led " << took.count() << " ms after the kill (lease " << kLease << ")");
  stream.check_once();
  // The new leader's term is higher, in /healthz and /metrics.
  HttpResult health = SharedControllers::get(c.url + "/healthz");
  CHECK(health.body.find("\"term\":2") != std::string::npos);
}

TEST_CASE("HA: a leader paused past its lease is fenced when it wakes: it writes nothing and exits",
          "[postgresql]") {
  FAULT_SEED(seed);
  SharedControllers s;
  Cluster& c = s.c;
  StreamRun stream(s);
  stream.wait_log(1);
  const std::string old = c.url;
  const std::string old_log = c.dir() + "/controller.log";
  c.signal_controller(SIGSTOP);
  auto took = s.await_new_leader(old);
  INFO("a follower led " << took.count() << " ms after the pause");
  // The new leader has the run; then the old one wakes up.
  std::this_thread::sleep_for(seed.ms(0, 2000));
  const size_t before = read_file(old_log).size();
  c.signal_controller(SIGCONT);
  // The woken leader saw it was deposed (its renewal or its first write) and exited.
  REQUIRE(
      wait_for([&] { return read_file(old_log).find("no longer the leader") != std::string::npos; },
               std::chrono::seconds(20)));
  INFO(read_file(old_log).substr(before));
  stream.check_once();
}

// Whoever leads among `urls` now (/healthz 200): the harness is pointed at it.
static void follow_the_leader(Cluster& c, const std::vector<std::string>& urls) {
  REQUIRE(wait_for(
      [&] {
        for (const std::string& u : urls) {
          if (SharedControllers::get(u + "/healthz").status == 200) {
            c.url = u;
            c.port = static_cast<uint16_t>(std::stoi(u.substr(u.rfind(':') + 1)));
            return true;
          }
        }
        return false;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(50)));
}

TEST_CASE("HA: PostgreSQL restarts mid-run: nothing acknowledged is lost, the controllers carry on",
          "[postgresql]") {
  FAULT_SEED(seed);
  SharedControllers s;
  Cluster& c = s.c;
  StreamRun stream(s);
  stream.wait_log(1);
  auto& pg = gantry::test::PostgresqlCluster::instance();
  pg.stop();
  const auto down = seed.ms(0, 2000);
  INFO("PostgreSQL down for " << down.count() << " ms");
  std::this_thread::sleep_for(down);
  pg.start();
  // The same leader when it renewed in time, else a follower.
  std::vector<std::string> all = {c.url};
  all.insert(all.end(), s.follower_urls.begin(), s.follower_urls.end());
  follow_the_leader(c, all);
  stream.check_once();
}

TEST_CASE(
    "HA: the leader cut from PostgreSQL stops leading and a follower takes over: nothing lost",
    "[postgresql]") {
  FAULT_SEED(seed);
  FaultProxy proxy(static_cast<uint16_t>(gantry::test::PostgresqlCluster::instance().port()));
  SharedControllers s("", 2, &proxy);
  Cluster& c = s.c;
  StreamRun stream(s);
  stream.wait_log(1);
  std::this_thread::sleep_for(seed.ms(0, 1000));
  const std::string old = c.url;
  proxy.blackhole(true);
  auto took = s.await_new_leader(old);
  INFO("a follower led " << took.count() << " ms after the cut");
  // The old leader could not renew for a whole lease: it stopped leading by itself.
  REQUIRE(wait_for(
      [&] {
        return read_file(c.dir() + "/controller.log").find("no longer the leader") !=
               std::string::npos;
      },
      std::chrono::seconds(20)));
  stream.check_once();
  proxy.blackhole(false);
}

namespace {

const std::string kReleaseConfig = R"(users:
  - {name: dev, role: developer, token: dev-token}
  - {name: rita, role: release-manager, groups: [release-managers], token: rita-token}
  - {name: rob, role: release-manager, groups: [release-managers], token: rob-token}
  - {name: ada, role: admin, token: admin-token}
environments:
  staging: {}
  production:
    gmud: {approvers: [release-managers], min_approvals: 2, expires_after: 1h}
)";

}  // namespace

TEST_CASE("HA: kill -9 of the leader with a pending GMUD and a paused canary: both carry on",
          "[postgresql]") {
  FAULT_SEED(seed);
  SharedControllers s(kReleaseConfig, 0);
  Cluster& c = s.c;
  c.admin_token = "admin-token";
  const std::string trail = c.dir() + "/trail.txt";
  // A configured repository (only those deploy through a gate), in every controller's config.
  const std::string gated = c.watch_repository(c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Deploy') {
      deploy('production')
      gmud { title 'Release'; impact 'high'; rollbackPlan 'redeploy' }
      steps { sh 'echo "deploying under $GMUD_ID" >> )" + trail + R"(' }
    }
  }
})"}}));
  s.start_follower();
  s.start_follower();
  c.start_agent({"A", {}, 1, s.all_urls()});
  c.wait_agents(1);
  auto as = [&](const std::string& token, std::vector<std::string> args) {
    args.insert(args.begin(), {"--token", token});
    return c.cli(args);
  };
  CliResult t = as("dev-token", {"trigger", "--repo", gated});
  REQUIRE(t.exit_code == 0);
  const int64_t gmud_run = std::stoll(t.out);
  c.wait_stage(gmud_run, "Deploy", "waiting");
  REQUIRE(wait_for([&] { return c.get_json("/api/v1/approvals")["approvals"].size() == 1; },
                   std::chrono::seconds(30)));
  REQUIRE(as("rita-token", {"approve", "GMUD-1"}).exit_code == 0);
  // A canary paused at 50%.
  t = c.cli({"trigger", "--repo", c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Prod') {
      deploy('staging') {
        canary {
          weights 10, 50, 100
          pause '3s'
        }
      }
      steps { sh 'echo "canary $CANARY_WEIGHT" >> )" + trail + R"(' }
    }
  }
})"}})});
  REQUIRE(t.exit_code == 0);
  const int64_t canary_run = std::stoll(t.out);
  REQUIRE(wait_for(
      [&] {
        json stage = stage_of(c.get_json("/api/v1/runs/" + std::to_string(canary_run)), "Prod");
        return stage.is_object() && stage["status"] == "waiting" &&
               stage["reason"].get<std::string>().rfind("canary at 50%", 0) == 0;
      },
      std::chrono::seconds(60)));
  std::this_thread::sleep_for(seed.ms(0, 1500));
  const std::string old = c.url;
  c.stop_controller(SIGKILL);
  auto took = s.await_new_leader(old);
  INFO("a follower led " << took.count() << " ms after the kill");
  // The request and its first approval are there, once; the second approval ships it.
  json approvals = c.get_json("/api/v1/approvals")["approvals"];
  REQUIRE(approvals.size() == 1);
  CHECK(approvals[0]["status"] == "pending");
  CHECK(approvals[0]["approvals"].size() == 1);
  REQUIRE(as("rob-token", {"approve", "GMUD-1"}).exit_code == 0);
  CHECK(c.wait_run(gmud_run, std::chrono::seconds(60))["status"] == "succeeded");
  CHECK(c.wait_run(canary_run, std::chrono::seconds(60))["status"] == "succeeded");
  CHECK(c.get_json("/api/v1/approvals")["approvals"].size() == 1);
  // Each step ran once: the canary went on from 50% (not from the start), the deploy once.
  const std::string ran = read_file(trail);
  CHECK(count_of(ran, "canary 10\n") == 1);
  CHECK(count_of(ran, "canary 50\n") == 1);
  CHECK(count_of(ran, "canary 100\n") == 1);
  CHECK(count_of(ran, "deploying under GMUD-1\n") == 1);
}

// Two fake controllers speak the agent protocol: the first welcomes the agent at term 5, hangs
// up and refuses it from then on; the second, a deposed leader, welcomes it at term 3. The agent
// must leave the second every time (it remembers the highest term it was welcomed with).
TEST_CASE("HA: an agent leaves a controller whose term is below one it was welcomed with",
          "[postgresql]") {
  using namespace gantry;
  net::EventLoop loop;
  struct Fake {
    int64_t term;
    int welcomes = 0;
    std::unique_ptr<net::HttpServer> server;
  };
  Fake fakes[2] = {{5}, {3}};
  for (Fake& f : fakes) {
    net::ServerOptions so;
    so.port = 0;
    f.server = std::make_unique<net::HttpServer>(
        loop, so,
        [](const net::Request&) {
          return net::Response{404, "text/plain", ""};
        },
        [&f](const net::Request&, std::shared_ptr<net::WsConnection> c,
             net::WsHandlers& h) -> std::optional<net::Response> {
          // The first fake, once it has hung up, is gone: it refuses like a follower.
          if (f.term == 5 && f.welcomes > 0) return net::Response{503, "text/plain", "gone"};
          std::weak_ptr<net::WsConnection> weak = c;
          h.on_message = [&f, weak](std::string_view, bool binary) {
            auto conn = weak.lock();
            if (!conn || binary) return;
            // Any first message (the hello) gets the welcome; the first fake then hangs up.
            protocol::Welcome w;
            w.session_id = "s";
            w.term = f.term;
            conn->send_text(protocol::encode(protocol::ControllerMessage{w}));
            if (++f.welcomes == 1 && f.term == 5) conn->close(1001, "going away");
          };
          return std::nullopt;
        });
    std::string error;
    REQUIRE(f.server->start(error));
  }
  std::thread loop_thread([&] { loop.run(); });
  e2e::TempDir dir;
  std::ofstream(dir.path + "/token") << "t0ken\n";
  Child agent;
  REQUIRE(agent.start({GANTRY_AGENT_BIN, "--controller",
                       "http://127.0.0.1:" + std::to_string(fakes[0].server->port()) +
                           ",http://127.0.0.1:" + std::to_string(fakes[1].server->port()),
                       "--token-file", dir.path + "/token", "--work", dir.path + "/work",
                       "--container-engine", "none"},
                      dir.path + "/agent.log"));
  const bool left = wait_for(
      [&] { return read_file(dir.path + "/agent.log").find("stale_leader") != std::string::npos; },
      std::chrono::seconds(30));
  // It keeps leaving: each welcome at term 3 sends it on (it never settles on the deposed one).
  const bool again =
      wait_for([&] { return count_of(read_file(dir.path + "/agent.log"), "stale_leader") >= 2; },
               std::chrono::seconds(30));
  agent.signal(SIGTERM);
  agent.wait();
  loop.post([&] {
    for (Fake& f : fakes) f.server->stop();
    loop.stop();
  });
  loop_thread.join();
  INFO(read_file(dir.path + "/agent.log"));
  CHECK(left);
  CHECK(again);
}
