#pragma once
// Shared libraries (SPEC §4, docs/groovy.md "Shared libraries"): what a
// pipeline asks for, and the library files a run was given.
//
// A pipeline names libraries with `@Library('name@version') _`,
// `@Library(['a', 'b@2'])` on any statement, `libraries { lib('name') }` in
// the pipeline, or the `library 'name@version'` step with literal arguments.
// The controller resolves each against its `libraries:` configuration, reads
// the library's files at one commit from its git mirror (vars/*.groovy,
// src/**/*.groovy, resources/**) and keeps them with the run as a
// LibraryBundle, so every job of the run sees the same commit. The agent's
// interpreter turns vars/NAME.groovy into the global NAME and src/ files
// into classes; `libraryResource` reads resources/.
//
// Pure: no I/O here; the caller fetches and reads.

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gantry/pipelines/ast.hpp"

namespace gantry::pipelines {

struct LibraryRequest {
  std::string name;
  std::string version;  // empty: the library's configured default
  Pos pos;
};

struct LibraryRequests {
  std::vector<LibraryRequest> wanted;  // in the order written, each name once
  // `library` steps whose argument is not a literal: they cannot be loaded
  // before the run, and fail when reached.
  std::vector<Pos> dynamic;
};

// "name@version" (version optional; `@` inside the version is kept).
LibraryRequest parse_library_spec(std::string_view spec, Pos pos);

// Every library the file asks for (annotations anywhere at top level, the
// `libraries` directive, literal `library` steps anywhere).
LibraryRequests find_library_requests(const Node& root);

struct LibraryFile {
  std::string path;  // "vars/deploy.groovy", "src/org/acme/Build.groovy", "resources/x.json"
  std::string text;
};

struct LoadedLibrary {
  std::string name;
  std::string version;  // as asked for, or the default
  std::string commit;   // what it resolved to: the run is pinned to it
  std::vector<LibraryFile> files;
};

using LibraryBundle = std::vector<LoadedLibrary>;

// Bounds of what a run carries: the controller refuses larger libraries.
inline constexpr size_t kMaxLibraryFiles = 2000;
inline constexpr size_t kMaxLibraryBytes = size_t{2} << 20;  // all libraries of a run

// Whether a library file is one the run needs (vars/*.groovy, src/**.groovy,
// resources/**).
bool is_library_file(std::string_view path);

// JSON: [{"name","version","commit","files":{path: text}}].
std::string encode_libraries(const LibraryBundle& libs);
bool decode_libraries(std::string_view json, LibraryBundle& out, std::string& error);
// The same without the files: [{"name","version","commit"}] (the run's page).
std::string library_pins_json(const LibraryBundle& libs);

// The global variables the libraries define: vars/NAME.groovy → NAME.
std::set<std::string> library_globals(const LibraryBundle& libs);

// A library's file by path ("resources/x.json"), searching every library in
// order; null when none has it.
const LibraryFile* find_library_file(const LibraryBundle& libs, std::string_view path);

}  // namespace gantry::pipelines
