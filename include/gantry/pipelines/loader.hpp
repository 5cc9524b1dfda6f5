#pragma once
// Loads a pipeline file of either form: a Jenkinsfile (Groovy declarative) or
// a .gantry.yml (chosen by the file name: .yml/.yaml is YAML). One call from
// text to validated model, with all diagnostics. No file I/O here: the caller
// reads the file.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gantry/pipelines/diagnostics.hpp"
#include "gantry/pipelines/libraries.hpp"
#include "gantry/pipelines/model.hpp"

namespace gantry::pipelines {

enum class SourceFormat { Jenkinsfile, Yaml };

SourceFormat format_for_path(std::string_view path);

// The shared libraries a pipeline's source asks for (@Library, libraries { }, literal
// `library` steps), parsed here; nullopt when the source does not parse (loading it
// reports why). For the controller before a run and `gantry run`.
std::optional<LibraryRequests> find_library_requests(std::string_view source, SourceFormat format);

struct LoadResult {
  std::optional<Pipeline> pipeline;  // set when there were no errors
  Diagnostics diagnostics;
  // The parsed file, for the Groovy around and inside the pipeline (helper
  // methods, top-level variables, classes); set with `pipeline`.
  std::shared_ptr<const Node> tree;
  // The file has no `pipeline { }` of its own but calls a library global
  // whose `call` holds one (a pipeline template): "LIBRARY:vars/NAME.groovy".
  std::string template_from;
};

// `libraries`: the run's shared libraries (null: none known, as for `gantry
// lint`). Their globals count as steps, their classes as classes, and a
// pipeline template among them gives the file its pipeline.
LoadResult load_pipeline(std::string_view source, SourceFormat format,
                         const LibraryBundle* libraries = nullptr);

// The Groovy files of a run's libraries (vars/*.groovy, src/**.groovy), parsed.
struct ParsedLibraryFile {
  std::string global;  // vars/NAME.groovy: NAME; empty for a src/ file
  std::shared_ptr<const Node> tree;
};
// The first syntax error, if any, in `error` ("library L@V: PATH:LINE:COL: message"),
// and the files before it.
std::vector<ParsedLibraryFile> parse_library_files(const LibraryBundle& libraries,
                                                   std::string& error);

}  // namespace gantry::pipelines
