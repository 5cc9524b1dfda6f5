// The audit log's hash chain: the canonical form, and a real Store in a temp
// dir whose rows are then tampered with through a second SQLite connection,
// as someone with the database file would. The chain itself is also checked
// on PostgreSQL (the TEMPLATE_TEST_CASEs).
#include <sqlite3.h>
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <functional>

#include "../support/postgresql_cluster.hpp"
#include "audit.hpp"
#include "store/store.hpp"

using namespace gantry::controller;
using gantry::test::Postgresql;
using gantry::test::Sqlite;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "gantry-audit-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
  std::string data() const { return (path / "data").string(); }
  std::string db() const { return (path / "data" / "gantry.db").string(); }
};

AuditRecord sample_entry() {
  AuditRecord e;
  e.id = 7;
  e.at = 1700000000123;
  e.actor = "ana";
  e.action = "permission.denied";
  e.subject = "/api/v1/runs";
  e.details = {{"reason", "may not \"x\""}, {"method", "POST"}, {"note", "ação\n"}};
  e.prev_hash = std::string(kAuditGenesisHash);
  return e;
}

// A store holding entries 1..n.
void fill(Store& store, int n) {
  for (int i = 1; i <= n; ++i) {
    AuditRecord e;
    e.at = 1700000000000 + i;
    e.actor = i % 2 ? "ana" : "bob";
    e.action = i % 3 ? "run.cancel" : "permission.denied";
    e.subject = "run " + std::to_string(i);
    e.details = {{"reason", "because " + std::to_string(i)}, {"method", "POST"}};
    REQUIRE(store.audit().append_audit(e));
    REQUIRE(e.id == i);
  }
}

AuditVerification verify_store(const std::string& data_dir, const std::string& url = {}) {
  Store store(data_dir, url);
  return verify_chain(store.audit().audit_entries(0, 100000));
}

// Runs `sql` on the database file through its own connection; `bind` binds
// its parameters.
void raw_exec(const std::string& db, const std::string& sql,
              const std::function<void(sqlite3_stmt*)>& bind = {}) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  if (bind) bind(st);
  CHECK(sqlite3_step(st) == SQLITE_DONE);
  sqlite3_finalize(st);
  sqlite3_close(h);
}

std::string raw_text(const std::string& db, const std::string& column, int64_t id) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::string sql = "SELECT " + column + " FROM audit WHERE id = ?1";
  REQUIRE(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  sqlite3_bind_int64(st, 1, id);
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW) {
    out.assign(reinterpret_cast<const char*>(sqlite3_column_blob(st, 0)),
               static_cast<size_t>(sqlite3_column_bytes(st, 0)));
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

// A log of 10 entries, changed by `sql` behind the store's back.
struct Tampering {
  const char* what;
  std::vector<const char*> sql;
  int64_t first_broken;
  const char* reason;
};

void check_caught(const Tampering& t) {
  INFO(t.what);
  TempDir dir;
  {
    Store store(dir.data());
    fill(store, 10);
  }
  for (const char* sql : t.sql) raw_exec(dir.db(), sql);
  AuditVerification v = verify_store(dir.data());
  CHECK_FALSE(v.ok);
  CHECK(v.first_broken == t.first_broken);
  CHECK(v.reason == t.reason);
}

}  // namespace

TEST_CASE("audit: the canonical JSON is sorted, compact, UTF-8 as is, and stable") {
  AuditRecord e = sample_entry();
  // The same bytes as Python's json.dumps(sort_keys=True, separators=(",", ":"),
  // ensure_ascii=False), and its SHA-256 from hashlib: an independent writer
  // can check the chain.
  const std::string expected =
      R"({"action":"permission.denied","actor":"ana","at":1700000000123,)"
      R"("details":{"method":"POST","note":"ação\n","reason":"may not \"x\""},"id":7,)"
      R"("prev_hash":"0000000000000000000000000000000000000000000000000000000000000000",)"
      R"("subject":"/api/v1/runs"})";
  CHECK(audit_canonical_json(e) == expected);
  CHECK(audit_hash(e) == "9fc95e791dd69d03b2e069c0f5fb76f82e2318935e0cee85e55106c11ca10657");
  // The stored hash is not part of what it covers.
  e.hash = "anything";
  CHECK(audit_canonical_json(e) == expected);
  // Every field is.
  AuditRecord other = sample_entry();
  other.details["method"] = "PUT";
  CHECK(audit_hash(other) != audit_hash(e));
  other = sample_entry();
  other.at += 1;
  CHECK(audit_hash(other) != audit_hash(e));
  other = sample_entry();
  other.prev_hash[0] = '1';
  CHECK(audit_hash(other) != audit_hash(e));
}

TEMPLATE_TEST_CASE("audit: bytes that are not UTF-8 are stored as hashed", "", Sqlite, Postgresql) {
  TempDir dir;
  TestType db;
  {
    Store store(dir.data(), db.url);
    AuditRecord e;
    e.actor = "ana";
    e.action = "permission.denied";
    e.subject = "/api/v1/\xff\xfe";
    e.details = {{"reason", "bad \xc3"}};
    REQUIRE(store.audit().append_audit(e));
    CHECK(e.subject == "/api/v1/\xef\xbf\xbd\xef\xbf\xbd");
  }
  AuditVerification v = verify_store(dir.data(), db.url);
  CHECK(v.ok);
  CHECK(v.entries == 1);
}

TEMPLATE_TEST_CASE("audit: a chain of appends in a real store verifies, across reopening", "",
                   Sqlite, Postgresql) {
  TempDir dir;
  TestType db;
  {
    Store store(dir.data(), db.url);
    CHECK(verify_chain(store.audit().audit_entries(0, 10)).ok);  // empty
    fill(store, 30);
    std::vector<AuditRecord> all = store.audit().audit_entries(0, 100);
    REQUIRE(all.size() == 30);
    CHECK(all[0].prev_hash == kAuditGenesisHash);
    for (size_t i = 1; i < all.size(); ++i) CHECK(all[i].prev_hash == all[i - 1].hash);
    CHECK(all[4].details.at("reason") == "because 5");
    // Pages: ids above after_id, oldest first.
    std::vector<AuditRecord> page = store.audit().audit_entries(10, 5);
    REQUIRE(page.size() == 5);
    CHECK(page.front().id == 11);
    CHECK(page.back().id == 15);
    // Fed in pages, the verifier says what it says of the whole.
    AuditVerifier verifier;
    for (int64_t after = 0; after < 30; after += 7) {
      for (const AuditRecord& e : store.audit().audit_entries(after, 7)) verifier.add(e);
    }
    CHECK(verifier.result().ok);
    CHECK(verifier.result().entries == 30);
  }
  {
    // A nested append (inside another transaction) chains the same way.
    Store store(dir.data(), db.url);
    AuditRecord e;
    e.actor = "controller";
    e.action = "config.load";
    REQUIRE(store.transaction([&] { return store.audit().append_audit(e).has_value(); }));
    CHECK(e.id == 31);
  }
  AuditVerification v = verify_store(dir.data(), db.url);
  CHECK(v.ok);
  CHECK(v.entries == 31);
  CHECK(v.first_broken == 0);
}

TEST_CASE("audit: one byte changed in any field of an entry is caught, naming it") {
  for (const char* column : {"at", "actor", "action", "subject", "details", "prev_hash", "hash"}) {
    INFO(column);
    TempDir dir;
    {
      Store store(dir.data());
      fill(store, 10);
    }
    if (std::string(column) == "at") {
      raw_exec(dir.db(), "UPDATE audit SET at = at + 1 WHERE id = 6");
    } else {
      std::string value = raw_text(dir.db(), column, 6);
      REQUIRE(!value.empty());
      value[value.size() / 2] ^= 1;
      raw_exec(dir.db(), "UPDATE audit SET " + std::string(column) + " = ?1 WHERE id = 6",
               [&](sqlite3_stmt* st) {
                 sqlite3_bind_text(st, 1, value.data(), static_cast<int>(value.size()),
                                   SQLITE_TRANSIENT);
               });
    }
    AuditVerification v = verify_store(dir.data());
    CHECK_FALSE(v.ok);
    CHECK(v.first_broken == 6);
    CHECK(v.reason == "hash does not match its contents");
    CHECK(v.entries == 10);
  }
}

TEST_CASE("audit: an edit whose hash was recomputed breaks the next entry's link") {
  TempDir dir;
  {
    Store store(dir.data());
    fill(store, 10);
    std::vector<AuditRecord> all = store.audit().audit_entries(0, 100);
    AuditRecord forged = all[3];  // entry 4
    forged.actor = "mallory";
    raw_exec(dir.db(), "UPDATE audit SET actor = 'mallory', hash = ?1 WHERE id = 4",
             [&](sqlite3_stmt* st) {
               std::string hash = audit_hash(forged);
               sqlite3_bind_text(st, 1, hash.c_str(), -1, SQLITE_TRANSIENT);
             });
  }
  AuditVerification v = verify_store(dir.data());
  CHECK_FALSE(v.ok);
  CHECK(v.first_broken == 5);
  CHECK(v.reason == "prev_hash does not match entry 4");
}

TEST_CASE("audit: deleted entries are caught") {
  const Tampering cases[] = {
      {"one in the middle",
       {"DELETE FROM audit WHERE id = 5"},
       6,
       "entry 5 is missing (ids jump from 4 to 6)"},
      {"several",
       {"DELETE FROM audit WHERE id BETWEEN 3 AND 7"},
       8,
       "entries 3 to 7 are missing (ids jump from 2 to 8)"},
      {"the first",
       {"DELETE FROM audit WHERE id = 1"},
       2,
       "entry 1 is missing (the log starts at 2)"},
      {"one, with the ids after it renumbered",
       {"DELETE FROM audit WHERE id = 5", "UPDATE audit SET id = id - 1 WHERE id > 5"},
       5,
       "hash does not match its contents"},
  };
  for (const Tampering& t : cases) check_caught(t);
}

TEST_CASE("audit: a reordered pair is caught") {
  SECTION("rows swapped in the table") {
    check_caught({"3 and 4 swapped",
                  {"UPDATE audit SET id = -1 WHERE id = 3", "UPDATE audit SET id = 3 WHERE id = 4",
                   "UPDATE audit SET id = 4 WHERE id = -1"},
                  3,
                  "hash does not match its contents"});
  }
  SECTION("entries handed over out of order") {
    TempDir dir;
    Store store(dir.data());
    fill(store, 10);
    std::vector<AuditRecord> all = store.audit().audit_entries(0, 100);
    std::vector<AuditRecord> swapped = all;
    std::swap(swapped[2], swapped[3]);  // 1, 2, 4, 3, 5, ...
    AuditVerification v = verify_chain(swapped);
    CHECK(v.first_broken == 4);
    CHECK(v.reason == "entry 3 is missing (ids jump from 2 to 4)");
    std::vector<AuditRecord> replayed(all.begin(), all.begin() + 5);
    replayed.push_back(all[3]);  // 1 .. 5, then 4 again
    v = verify_chain(replayed);
    CHECK(v.first_broken == 4);
    CHECK(v.reason == "entry 4 is out of order (it follows entry 5)");
  }
}
