// The `database:` key of the controller config (docs/ha.md): SQLite in
// data_dir (the default), or a PostgreSQL server given by its URL.
#include "config_reader.hpp"

namespace gantry::controller::config_detail {
namespace {

bool postgresql_url(const std::string& url) {
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (url.starts_with(scheme) && url.size() > scheme.size()) return true;
  }
  return false;
}

bool read_url(Reader& r, const Field& f, DatabaseConfig& out) {
  if (!r.string(f, out.url)) return false;
  if (!postgresql_url(out.url)) {
    return r.fail(
        f, "'" + f.name + "' must be a PostgreSQL URL (postgresql://USER@HOST:PORT/DATABASE)");
  }
  out.driver = "postgresql";
  return true;
}

}  // namespace

// `database: URL`, or `database: {driver, url, lease, advertise}`.
bool read_database(Reader& r, const Field& f, Config& c) {
  DatabaseConfig& out = c.database;
  if (f.value.IsScalar()) return read_url(r, f, out);
  Fields fs;
  if (!r.fields(f.value, "'database'", {"driver", "url", "lease", "advertise"}, fs)) return false;
  const Field* driver = fs.find("driver");
  const Field* url = fs.find("url");
  std::string name = "postgresql";
  if (driver) {
    if (!r.string(*driver, name)) return false;
    if (name != "sqlite" && name != "postgresql") {
      return r.fail(*driver, "unknown database driver '" + name + "' (use sqlite or postgresql)");
    }
  }
  if (name == "sqlite") {
    if (url) return r.fail(*url, "'url' is for postgresql: SQLite's database is in data_dir");
    for (const char* key : {"lease", "advertise"}) {
      if (const Field* k = fs.find(key))
        return r.fail(*k, "'" + std::string(key) +
                              "' is for postgresql: on SQLite one controller leads alone");
    }
    out = {};
    return true;
  }
  if (!url) return r.fail(f, "'database' needs 'url' (postgresql://USER@HOST:PORT/DATABASE)");
  if (!read_url(r, *url, out)) return false;
  if (const Field* lease = fs.find("lease")) {
    if (!r.duration(*lease, out.lease_ms)) return false;
    // Renewed every third of it, each renewal a round trip that may wait a second for a lock.
    if (out.lease_ms < 3000 || out.lease_ms > 300000)
      return r.fail(*lease, "'lease' must be between 3s and 5m");
  }
  if (const Field* advertise = fs.find("advertise")) {
    if (!r.string(*advertise, out.advertise)) return false;
    if (!out.advertise.starts_with("http://") && !out.advertise.starts_with("https://"))
      return r.fail(*advertise, "'advertise' must be a URL (https://HOST:PORT)");
    while (out.advertise.ends_with('/')) out.advertise.pop_back();
  }
  return true;
}

}  // namespace gantry::controller::config_detail
