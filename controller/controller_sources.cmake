# The controller's core (config, users and tokens, audit, webhooks), relative
# to controller/. Link with: PkgConfig::YAMLCPP, OpenSSL::Crypto,
# nlohmann_json::nlohmann_json, gantry_common and gantry_store (below); include
# directories: include/ and controller/.
set(GANTRY_CONTROLLER_CORE_SOURCES
  config.cpp
  config_reader.cpp
  config_sections.cpp
  config_environments.cpp
  config_kubernetes.cpp
  config_notifications.cpp
  config_retention.cpp
  config_database.cpp
  auth.cpp
  audit.cpp
  audit_json.cpp
  webhook.cpp
  webhook_json.cpp
  forge_changes_json.cpp
  store/store.cpp
  store/store_runs.cpp
  store/store_records.cpp
  store/store_audit.cpp
  store/store_json.cpp
  store/store_states.cpp
  store/store_approvals.cpp
  store/store_releases.cpp
  store/store_events.cpp
  store/store_retention.cpp
  store/migrate_sqlite.cpp
)
# The store's database engines (store/database.hpp), the only code that uses
# SQLite (SQLite::SQLite3) or libpq (PkgConfig::LIBPQ).
set(GANTRY_STORE_SOURCES
  store/database.cpp
  store/sqlite_database.cpp
  store/postgresql_database.cpp
  store/leader_lease.cpp
  store/migrations.cpp
  store/migrations_postgresql.cpp
)
