#pragma once
// Lint for the Groovy of a Jenkinsfile (SPEC §4: "What it cannot run is a
// lint warning at its line and column"): reports, as warnings, what Gantry's
// interpreter (groovy.hpp) will refuse when the line is reached, and nothing
// it runs. At run time the same constructs fail where they are reached only.
//
// Reported: classes outside the sandbox's allow-list (`new File(...)`,
// `Jenkins.instance`), reflection and process escapes (`.metaClass`,
// `.execute()`, `System.getenv`, `Thread.sleep`), interfaces, enums and
// traits, and calls to names that are neither a step Gantry has, nor a
// method or closure of the file.
//
// Pure; no I/O.

#include <set>
#include <string>
#include <string_view>

#include "gantry/pipelines/ast.hpp"
#include "gantry/pipelines/diagnostics.hpp"

namespace gantry::pipelines {

// What the whole file defines, for telling a helper's call from an unknown step.
struct GroovyNames {
  std::set<std::string> methods;    // def name(...) { } at the top level
  std::set<std::string> variables;  // declared or assigned names (closures may be called)
  std::set<std::string> classes;    // classes the file defines
};

GroovyNames collect_groovy_names(const Node& file);

// Warns about each construct of `code` Gantry cannot run, once, at its position.
// Returns how many it reported.
size_t check_groovy(const Node& code, const GroovyNames& names, Diagnostics& diags);

// Steps and calls Gantry runs in Groovy besides the file's own methods: the
// agent's steps, node/stage/parallel, argument builders, Groovy's println...
bool is_groovy_callable(std::string_view name);

}  // namespace gantry::pipelines
