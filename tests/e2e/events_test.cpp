// The live events WebSocket through real daemons (docs/events.md, issue 8):
// every event of a run in order and without gaps, the same sequence after a
// reconnect with `since` (across a controller restart too), a client that
// reads nothing closed with its reason while the run keeps its pace, and
// 200 clients on one busy run.
#include <catch2/catch.hpp>

#include "event_watcher.hpp"
#include "harness.hpp"

using namespace gantry::e2e;

namespace {

int64_t start_run(Cluster& c, const std::string& steps) {
  std::string pipeline = "pipeline {\n  agent any\n  stages {\n" + steps + "  }\n}\n";
  CliResult t = c.cli({"trigger", "--repo", c.make_repo({{"Jenkinsfile", pipeline}})});
  REQUIRE(t.exit_code == 0);
  return std::stoll(t.out);
}

// The log of one stage rebuilt from log events, attempt 1.
std::string log_of(const std::vector<json>& events, const std::string& stage) {
  std::string out;
  for (const json& e : events) {
    if (e["type"] != "log" || e["stage"] != stage) continue;
    CHECK(e["offset"].get<uint64_t>() == out.size());  // in order, no overlap, no gap
    out += e["data"].get<std::string>();
  }
  return out;
}

void check_ordered(const std::vector<json>& events) {
  for (size_t i = 1; i < events.size(); ++i)
    REQUIRE(events[i]["id"].get<int64_t>() > events[i - 1]["id"].get<int64_t>());
}

const char* kTwoStages =
    R"(    stage('Build') { steps { sh 'for i in $(seq 1 300); do echo "build line $i"; done' } }
    stage('Test') { steps { sh 'for i in $(seq 1 200); do echo "café $i"; done' } }
)";

}  // namespace

TEST_CASE("an events client gets a run's events in order, the same after since and a restart",
          "[pg]") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  int64_t run = start_run(c, kTwoStages);
  Watcher first(c, "?run=" + std::to_string(run));
  bool ended = first.wait_run_end(run);
  INFO("frames: " << first.count() << ", disconnects: " << first.disconnects().size());
  INFO(read_file(c.dir() + "/controller.log"));
  REQUIRE(ended);
  std::vector<json> all = first.events();
  check_ordered(all);
  for (const json& e : all) CHECK(e["run"] == run);
  // The stages' whole lives, and logs byte for byte as the REST API has them.
  std::vector<std::string> statuses;
  for (const json& e : all) {
    if (e["type"] == "stage" && e["stage"] == "Build") statuses.push_back(e["status"]);
  }
  REQUIRE(!statuses.empty());
  CHECK(statuses.back() == "succeeded");
  CHECK(std::find(statuses.begin(), statuses.end(), "running") != statuses.end());
  CHECK(log_of(all, "Build") == c.stage_log(run, "Build"));
  CHECK(log_of(all, "Test") == c.stage_log(run, "Test"));
  CHECK(log_of(all, "Test").find("café 200\n") != std::string::npos);

  // Resume from the middle: exactly the rest.
  size_t k = all.size() / 2;
  int64_t since = all[k]["id"];
  auto rest = [&](Watcher& w) {
    REQUIRE(w.wait_count(all.size() - k - 1));
    std::vector<json> got = w.events();
    REQUIRE(got.size() == all.size() - k - 1);
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == all[k + 1 + i]);
  };
  {
    Watcher again(c, "?run=" + std::to_string(run) + "&since=" + std::to_string(since));
    rest(again);
  }
  c.stop_controller(9);
  c.start_controller();
  {
    Watcher after_restart(c, "?run=" + std::to_string(run) + "&since=" + std::to_string(since));
    rest(after_restart);
  }
  // Unfiltered, from an id: the agent's events too; ids keep growing after the restart.
  c.wait_agents(1);
  Watcher everything(c, "?since=0");
  REQUIRE(everything.wait_count(all.size() + 1));
  bool agent_event = false;
  for (const json& e : everything.events()) agent_event = agent_event || e["type"] == "agent";
  CHECK(agent_event);
  // Without log events, or only one run's.
  size_t not_logs = 0;
  for (const json& e : all) not_logs += e["type"] != "log" ? 1 : 0;
  Watcher quiet(c, "?since=0&logs=none");
  Watcher own(c, "?since=0&logs=" + std::to_string(run + 1));
  REQUIRE(quiet.wait_count(not_logs));
  REQUIRE(own.wait_count(not_logs));
  for (const json& e : quiet.events()) CHECK(e["type"] != "log");
  for (const json& e : own.events()) CHECK(e["type"] != "log");
  // A token in the query (as browsers send it) never reaches the log.
  Watcher browser_like(c, "?since=0&logs=none&token=" + c.admin_token);
  REQUIRE(browser_like.wait_count(not_logs));
  CHECK(read_file(c.dir() + "/controller.log").find(c.admin_token) == std::string::npos);
}

TEST_CASE("stage events come as things happened: a group starts first and ends last") {
  Cluster c;
  c.start_controller();
  c.start_agent({.executors = 2});
  c.wait_agents(1);
  int64_t run = start_run(c, R"(    stage('Checks') {
      parallel {
        stage('Fast') { steps { sh 'exit 1' } }
        stage('Slow') { steps { sh 'sleep 1' } }
      }
    }
    stage('After') { steps { echo 'never' } }
)");
  Watcher w(c, "?run=" + std::to_string(run) + "&logs=none&since=0");
  REQUIRE(w.wait_run_end(run));
  // Each stage's transitions, and where in the stream they came.
  std::vector<std::pair<std::string, std::string>> seen;  // stage, status
  for (const json& e : w.events()) {
    if (e["type"] == "stage") seen.emplace_back(e["stage"], e["status"]);
  }
  auto first = [&](const std::string& stage, const std::string& status) {
    for (size_t i = 0; i < seen.size(); ++i)
      if (seen[i].first == stage && seen[i].second == status) return static_cast<long>(i);
    return -1L;
  };
  std::string all;
  for (const auto& [stage, status] : seen) all += stage + "=" + status + " ";
  INFO(all);
  INFO(c.get_json("/api/v1/runs/" + std::to_string(run)).dump());
  REQUIRE(first("Checks", "running") >= 0);
  REQUIRE(first("Checks / Fast", "running") >= 0);
  REQUIRE(first("Checks / Fast", "failed") >= 0);
  REQUIRE(first("Checks", "failed") >= 0);
  CHECK(first("Checks", "running") < first("Checks / Fast", "running"));
  CHECK(first("Checks / Fast", "failed") < first("Checks", "failed"));
  REQUIRE(first("Checks / Slow", "succeeded") >= 0);
  CHECK(first("Checks / Slow", "succeeded") < first("Checks", "failed"));
}

TEST_CASE("events: bad tokens and queries are refused") {
  Cluster c;
  c.start_controller();
  for (const char* query : {"?token=nope", "?since=-1", "?run=1x", "?logs=0", "?logs=abc"}) {
    HttpResult r = c.http("GET", std::string("/api/v1/events") + query, "",
                          std::string(query).find("token") != std::string::npos ? "" : "<admin>",
                          {{"Connection", "Upgrade"},
                           {"Upgrade", "websocket"},
                           {"Sec-WebSocket-Version", "13"},
                           {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}});
    INFO(query);
    CHECK((r.status == 401 || r.status == 400));
  }
}

TEST_CASE("a client that reads nothing is closed with its reason, the run keeps its pace") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  // 24 MB of log: more than the client's queue and the socket buffers.
  const std::string steps =
      "    stage('Flood') { steps { sh 'head -c 24000000 /dev/zero | tr \"\\\\0\" x | fold -w 99' "
      "} }\n";
  auto timed_run = [&](int64_t& id) {
    auto t0 = std::chrono::steady_clock::now();
    id = start_run(c, steps);
    REQUIRE(c.wait_run(id, std::chrono::seconds(120))["status"] == "succeeded");
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  int64_t quiet = 0;
  double alone = timed_run(quiet);

  Watcher slow(c, "", std::chrono::seconds(6));
  auto stall_ends = std::chrono::steady_clock::now() + std::chrono::seconds(7);
  Watcher reader(c, "");
  int64_t busy = 0;
  double watched = timed_run(busy);
  INFO("alone " << alone << " s, with a stalled client " << watched << " s");
  CHECK(watched < alone * 3 + 3);
  // The reader got every byte.
  REQUIRE(reader.wait_run_end(busy));
  CHECK(static_cast<int64_t>(log_of(reader.events(), "Flood").size()) ==
        c.stage_log_size(busy, "Flood"));
  CHECK(c.stage_log_size(busy, "Flood") > 24000000);
  // The stalled one, once it reads again, finds the reason it was closed for.
  std::this_thread::sleep_until(stall_ends);  // its loop answers nothing before
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);
  while (slow.disconnects().empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  REQUIRE(!slow.disconnects().empty());
  CHECK(slow.disconnects()[0].rfind("closed 4008 too slow: reconnect with since=", 0) == 0);
}

TEST_CASE("200 clients on one busy run all get the whole sequence") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  int64_t run = start_run(c, kTwoStages);
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int i = 0; i < 200; ++i)
    watchers.push_back(std::make_unique<Watcher>(c, "?run=" + std::to_string(run)));
  REQUIRE(watchers[0]->wait_run_end(run));
  std::vector<json> expected = watchers[0]->events();
  check_ordered(expected);
  for (auto& w : watchers) {
    REQUIRE(w->wait_run_end(run));
    std::vector<json> got = w->events();
    REQUIRE(got.size() == expected.size());
    CHECK(got.back() == expected.back());
    CHECK(log_of(got, "Build") == log_of(expected, "Build"));
  }
}

TEST_CASE("gantry watch follows a run's events and exits with its status") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  int64_t run = start_run(c, R"(    stage('Build') { steps { sh 'echo "hello from build"' } }
    stage('Test') { steps { sh 'sleep 0.3; echo "testing"; exit 3' } }
)");
  CliResult w = c.cli({"watch", std::to_string(run)});
  INFO(w.out);
  CHECK(w.exit_code == 1);
  CHECK(w.out.find("running  Build") != std::string::npos);
  CHECK(w.out.find("[Build] hello from build") != std::string::npos);
  CHECK(w.out.find("succeeded  Build") != std::string::npos);
  CHECK(w.out.find("[Test] testing") != std::string::npos);
  CHECK(w.out.find("failed  Test") != std::string::npos);
  CHECK(w.out.find("run " + std::to_string(run) + " failed") != std::string::npos);
  // Watching a run that ended replays it; a wrong token is refused (exit 2).
  CHECK(c.cli({"watch", std::to_string(run)}).exit_code == 1);
  CHECK(c.cli({"--token", "nope", "watch", std::to_string(run)}).exit_code == 2);
  CHECK(c.cli({"watch", "999"}).exit_code == 2);
}

TEST_CASE("log events carry any bytes as JSON text, alike live, replayed from memory and the store",
          "[pg]") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  // Bytes to escape or replace: quotes, backslashes, control characters,
  // bytes that are not UTF-8 (lone continuations, overlongs, surrogates, cut
  // sequences) and characters of 2 to 4 bytes; 60 copies (~190 KB) put the
  // 64 KiB event bounds and the group commits at many places.
  std::string piece = "plain \"quoted\" back\\slash tab\t cr\r ff\f nul";
  piece += std::string(1, '\0') + "\x01\x1f\x7f esc\x1b[0m café € 😀 ";
  piece +=
      "bad: \x80 \xbf \xc0\xaf \xe0\x80\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xff \xe2\x82 "
      "\xf0\x9f\x98 end\n";
  std::string data;
  for (int i = 0; i < 30; ++i) data += piece + std::string(static_cast<size_t>(i) * 7, 'x') + "\n";
  std::string pipeline =
      "pipeline {\n  agent any\n  stages {\n"
      "    stage('Bytes') { steps { sh 'for i in $(seq 1 60); do cat data.bin; done' } }\n"
      "  }\n}\n";
  std::string repo = c.make_repo({{"Jenkinsfile", pipeline}, {"data.bin", data}});
  auto trigger = [&] {
    CliResult t = c.cli({"trigger", "--repo", repo});
    REQUIRE(t.exit_code == 0);
    return std::stoll(t.out);
  };
  // Each log event's data is what nlohmann makes of the bytes it covers.
  auto check_logs = [&](const std::vector<json>& events, int64_t run) {
    std::string log = c.stage_log(run, "Bytes");
    REQUIRE(log.size() > 60 * data.size());
    uint64_t covered = 0;
    for (const json& e : events) {
      if (e["type"] != "log") continue;
      auto offset = e["offset"].get<uint64_t>(), length = e["length"].get<uint64_t>();
      REQUIRE(offset == covered);
      REQUIRE(offset + length <= log.size());
      std::string slice = log.substr(offset, length);
      json expected = json::parse(json(slice).dump(-1, ' ', false, json::error_handler_t::replace));
      CHECK(e["data"] == expected);
      covered += length;
    }
    CHECK(covered == log.size());
  };

  // No client while the first run logs: its frames are built when asked for.
  int64_t quiet = trigger();
  REQUIRE(c.wait_run(quiet)["status"] == "succeeded");
  // A client following the second run as it goes: built as they come.
  Watcher live(c, "?logs=" + std::to_string(quiet + 1));
  int64_t watched = trigger();
  REQUIRE(watched == quiet + 1);
  REQUIRE(live.wait_run_end(watched));
  check_logs(live.events(), watched);

  Watcher replay(c, "?run=" + std::to_string(quiet));
  REQUIRE(replay.wait_run_end(quiet));
  std::vector<json> from_memory = replay.events();
  check_logs(from_memory, quiet);
  // After a restart: from the store, the same events.
  c.stop_controller(9);
  c.start_controller();
  Watcher stored(c, "?run=" + std::to_string(quiet));
  REQUIRE(stored.wait_run_end(quiet));
  std::vector<json> from_store = stored.events();
  REQUIRE(from_store.size() == from_memory.size());
  for (size_t i = 0; i < from_store.size(); ++i) CHECK(from_store[i] == from_memory[i]);
}
