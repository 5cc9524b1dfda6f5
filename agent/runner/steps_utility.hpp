#pragma once
// Jenkins' Pipeline Utility Steps on the workspace's files, with Groovy values:
// readJSON/writeJSON, readYaml/writeYaml, readProperties and readCSV
// (docs/pipeline-language.md). Called from Groovy (the script engine's host),
// or as a plain declarative step through ScriptEngine::run_utility_step (the
// write steps; a read step there fails: its value has nowhere to go).
//
// Files are relative to the step's directory (dir('x')), must stay inside the
// workspace (symlinks included) and are at most 16 MiB.
//
// Not responsible for evaluating arguments (the interpreter does) or for
// logging. Plain functions of their arguments; runs on the job's thread.

#include <string>
#include <string_view>
#include <vector>

#include "gantry/pipelines/groovy.hpp"
#include "step_runner.hpp"

namespace gantry::agent {

// Whether `name` is one of these steps, and whether it returns a value.
bool is_utility_step(std::string_view name);
bool utility_step_returns_value(std::string_view name);

// Runs one: `call`'s evaluated arguments, files resolved against `cwd` and
// kept inside `workspace`. The step's value in `out`.
StepStatus run_utility_step(const pipelines::groovy::StepCall& call, const std::string& workspace,
                            const std::string& cwd, pipelines::groovy::Value& out);

namespace utility {

// JSON (steps_utility_json.cpp): objects keep their keys' order (Jenkins'
// json-lib does), integers are Integer or Long, decimals Double.
bool parse_json(std::string_view text, pipelines::groovy::Value& out, std::string& error);
// `indent` 0: compact. A String value is parsed as JSON first, as Jenkins does.
bool write_json(const pipelines::groovy::Value& v, int indent, std::string& out,
                std::string& error);

// YAML (steps_utility_yaml.cpp), with YAML 1.1's plain scalars as SnakeYAML
// reads them (numbers, true/false/yes/no/on/off, null and ~). Several
// documents: a List of them; none: null.
bool parse_yaml(std::string_view text, pipelines::groovy::Value& out, std::string& error);
// Block style; each value one document ("---" between them).
bool write_yaml(const std::vector<pipelines::groovy::Value>& docs, std::string& out,
                std::string& error);

// .properties and CSV (steps_utility_text.cpp).
// java.util.Properties' format: `k=v`, `k: v`, `k v`, `#`/`!` comments, lines
// continued with a trailing `\`, escapes (\t \n \r \f \uXXXX, \x for x).
// Entries are added to `out` in file order, later keys replacing earlier ones.
void parse_properties(std::string_view text, pipelines::groovy::Map& out);

// RFC 4180 CSV: a List of records, each a List of String fields.
bool parse_csv(std::string_view text, pipelines::groovy::Value& out, std::string& error);

}  // namespace utility
}  // namespace gantry::agent
