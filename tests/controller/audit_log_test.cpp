// The audit log service: verification is incremental (repeated verifies
// hash only the new tail) and still catches an edit of old rows at the
// next full pass.
#include "service/audit_log.hpp"

#include "service_fixture.hpp"

using namespace gantry::controller;
using namespace gantry::controller::testing;
namespace protocol = gantry::protocol;
using gantry::Status;

TEST_CASE("verify is incremental, and a full pass catches an old edit", "[audit]") {
  TempDir dir;
  Store store(dir.data());
  ManualClock clock;
  AuditLog audit(store, clock);
  for (int i = 0; i < 50; ++i)
    REQUIRE(audit.record("alice", "run.cancel", "run " + std::to_string(i)));
  auto first = audit.verify();
  REQUIRE(first.has_value());
  CHECK(first->ok);
  CHECK(first->entries == 50);
  // Tamper with an old row behind the store's back.
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((dir.data() + "/gantry.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "UPDATE audit SET actor = 'mallory' WHERE id = 3", nullptr, nullptr,
                         nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  REQUIRE(audit.record("alice", "run.cancel", "run 50"));
  auto cached = audit.verify();  // within the window: only the new entry is hashed
  REQUIRE(cached.has_value());
  CHECK(cached->entries == 51);
  clock.advance(AuditLog::kFullVerifyEveryMs);
  auto full = audit.verify();
  REQUIRE(full.has_value());
  CHECK_FALSE(full->ok);
  CHECK(full->first_broken == 3);
}
