// gantry watch's view of a run, fed events as data (no network).
#include <catch2/catch.hpp>

#include "watch_view.hpp"

using gantry::cli::WatchView;

namespace {

std::string stage(int id, const std::string& stage, const std::string& status, int order,
                  int64_t started = 0, int64_t finished = 0, const std::string& reason = "") {
  std::string name = stage.substr(stage.rfind('/') == std::string::npos ? 0 : stage.rfind('/') + 2);
  return R"({"id":)" + std::to_string(id) + R"(,"type":"stage","at":1000,"run":7,"stage":")" +
         stage + R"(","name":")" + name + R"(","status":")" + status + R"(","reason":")" + reason +
         R"(","agent":"a1","attempts":1,"started_at":)" + std::to_string(started) +
         R"(,"finished_at":)" + std::to_string(finished) + R"(,"order":)" + std::to_string(order) +
         "}";
}

std::string log(int id, const std::string& stage, const std::string& data) {
  return R"({"id":)" + std::to_string(id) + R"(,"type":"log","at":1000,"run":7,"stage":")" + stage +
         R"(","attempt":1,"offset":0,"data":")" + data + R"("})";
}

}  // namespace

TEST_CASE("the watch view draws the stage tree with durations and the running stage's log") {
  WatchView v(7, false);
  v.apply(R"({"id":1,"type":"run","at":1000,"run":7,"number":3,"job":"app","status":"running"})");
  v.apply(stage(2, "Build", "succeeded", 0, 1000, 3500));
  v.apply(stage(3, "Test", "running", 1, 3500));
  v.apply(stage(4, "Test / Unit", "running", 2, 3500));
  v.apply(stage(5, "Test / Lint", "queued", 3));
  std::vector<std::string> plain =
      v.apply(log(6, "Test / Unit", "\\u001b[32mok 1\\u001b[0m\\nok 2\\npart"));
  CHECK(plain ==
        std::vector<std::string>{"[Test / Unit] \x1b[32mok 1\x1b[0m", "[Test / Unit] ok 2"});
  std::vector<std::string> screen = v.render(5000, 60);
  std::vector<std::string> want = {"run 7  app #3  running",
                                   "  ✔ Build  2.5s",
                                   "  ▶ Test  1.5s",
                                   "    ▶ Unit  1.5s",
                                   "    · Lint",
                                   "── Test / Unit ──",
                                   "  ok 1",
                                   "  ok 2",
                                   "  part"};
  CHECK(screen == want);
  // A frame seen already (after a reconnect) or of another run changes nothing.
  CHECK(v.apply(stage(4, "Test / Unit", "failed", 2, 3500, 4000)).empty());
  CHECK(v.apply(R"({"id":9,"type":"run","at":1000,"run":8,"status":"failed"})").empty());
  CHECK_FALSE(v.finished());
}

TEST_CASE("the watch view fits every line in the terminal's width, and ends with the run") {
  WatchView v(7, true);
  v.apply(stage(1, "Deploy", "failed", 0, 1000, 2000,
                "analysis failed at 50%: the canary is greater than the baseline by far"));
  for (const std::string& line : v.render(3000, 40)) {
    size_t visible = 0;
    bool escape = false;
    for (unsigned char c : line) {
      if (c == 0x1b) escape = true;
      if (!escape && (c & 0xC0) != 0x80) ++visible;
      if (escape && c == 'm') escape = false;
    }
    CHECK(visible <= 40);
  }
  v.apply(R"({"id":2,"type":"run","at":1000,"run":7,"status":"failed","reason":"x"})");
  CHECK(v.finished());
  CHECK(v.status() == "failed");
}

TEST_CASE(
    "when a run fails, the watch view keeps the failed stage's last lines and says where "
    "the rest is") {
  WatchView v(7, false);
  v.apply(R"({"id":1,"type":"run","at":1000,"run":7,"number":3,"job":"app","status":"running"})");
  v.apply(stage(2, "Test", "running", 0, 1000));
  v.apply(log(3, "Test", "FAIL: test_parse\\nexpected 1, got 2\\n"));
  v.apply(stage(4, "Test", "failed", 0, 1000, 2000, "script returned exit code 2"));
  v.apply(R"({"id":5,"type":"run","at":1000,"run":7,"status":"failed"})");
  REQUIRE(v.finished());
  std::vector<std::string> screen = v.render(3000, 80);
  std::string all;
  for (const std::string& l : screen) all += l + "\n";
  INFO(all);
  CHECK(all.find("── Test ──") != std::string::npos);
  CHECK(all.find("expected 1, got 2") != std::string::npos);
  CHECK(all.find("the whole log: gantry logs 7 'Test'") != std::string::npos);
}
