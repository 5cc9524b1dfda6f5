#include "gantry/pipelines/loader.hpp"

#include "gantry/pipelines/groovy_parser.hpp"
#include "gantry/pipelines/libraries.hpp"
#include "gantry/pipelines/model_builder.hpp"
#include "gantry/pipelines/yaml_frontend.hpp"

namespace gantry::pipelines {

SourceFormat format_for_path(std::string_view path) {
  auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
  };
  return ends_with(".yml") || ends_with(".yaml") ? SourceFormat::Yaml : SourceFormat::Jenkinsfile;
}

namespace {

// The `pipeline` call inside a method body (a template's `call`), if any.
Node* find_pipeline_call(Node* n, int depth) {
  if (n == nullptr || depth > 60) return nullptr;
  if (n->kind == NodeKind::Call && !n->lhs && n->text == "pipeline" && n->block) return n;
  if (n->kind == NodeKind::Closure || n->kind == NodeKind::ClassDef) return nullptr;
  for (Node* c : {n->lhs.get(), n->rhs.get(), n->third.get()}) {
    if (Node* found = find_pipeline_call(c, depth + 1)) return found;
  }
  for (auto& i : n->items) {
    if (Node* found = find_pipeline_call(i.get(), depth + 1)) return found;
  }
  return nullptr;
}

bool has_top_level_pipeline(const Node& root) {
  for (const auto& stmt : root.items) {
    if (stmt && stmt->kind == NodeKind::ExprStmt && stmt->lhs &&
        stmt->lhs->kind == NodeKind::Call && !stmt->lhs->lhs && stmt->lhs->text == "pipeline")
      return true;
  }
  return false;
}

}  // namespace

std::vector<ParsedLibraryFile> parse_library_files(const LibraryBundle& libraries,
                                                   std::string& error) {
  std::vector<ParsedLibraryFile> out;
  for (const auto& lib : libraries) {
    for (const auto& f : lib.files) {
      bool var = f.path.starts_with("vars/") && f.path.ends_with(".groovy");
      bool src = f.path.starts_with("src/") && f.path.ends_with(".groovy");
      if (!var && !src) continue;
      Diagnostics diags;
      std::shared_ptr<const Node> tree(parse_groovy(f.text, diags));
      for (const auto& d : diags.all()) {
        if (d.severity != Severity::Error) continue;
        error = "library " + lib.name + "@" + lib.version + ": " + f.path + ":" +
                std::to_string(d.pos.line) + ":" + std::to_string(d.pos.col) + ": " + d.message;
        return out;
      }
      out.push_back(ParsedLibraryFile{var ? f.path.substr(5, f.path.size() - 5 - 7) : std::string(),
                                      std::move(tree)});
    }
  }
  return out;
}

LoadResult load_pipeline(std::string_view source, SourceFormat format,
                         const LibraryBundle* libraries) {
  LoadResult result;
  NodePtr root = format == SourceFormat::Yaml ? parse_yaml_pipeline(source, result.diagnostics)
                                              : parse_groovy(source, result.diagnostics);
  ModelOptions options;
  NodePtr template_tree;
  if (libraries != nullptr && !result.diagnostics.has_errors()) {
    options.libraries_loaded = true;
    options.globals = library_globals(*libraries);
    for (const auto& lib : *libraries) {
      for (const auto& f : lib.files) {
        if (!f.path.starts_with("src/") && !f.path.starts_with("vars/")) continue;
        Diagnostics ignored;  // the agent reports a library's syntax errors when it loads it
        NodePtr t = parse_groovy(f.text, ignored);
        for (const auto& stmt : t->items) {
          if (stmt && stmt->kind == NodeKind::ClassDef) options.classes.insert(stmt->text);
        }
      }
    }
    // A pipeline template: the file calls a global whose `call` holds `pipeline { }`.
    if (!has_top_level_pipeline(*root)) {
      for (const auto& stmt : root->items) {
        const Node* call = stmt && stmt->kind == NodeKind::ExprStmt ? stmt->lhs.get() : nullptr;
        if (call == nullptr || call->kind != NodeKind::Call || call->lhs ||
            options.globals.count(call->text) == 0)
          continue;
        for (const auto& lib : *libraries) {
          const std::string path = "vars/" + call->text + ".groovy";
          const LibraryFile* f = nullptr;
          for (const auto& lf : lib.files) {
            if (lf.path == path) f = &lf;
          }
          if (f == nullptr) continue;
          Diagnostics ignored;
          NodePtr t = parse_groovy(f->text, ignored);
          for (auto& m : t->items) {
            if (m && m->kind == NodeKind::MethodDef && m->text == "call") {
              if (Node* p = find_pipeline_call(m.get(), 0)) options.template_pipeline = p;
            }
          }
          if (options.template_pipeline != nullptr) {
            result.template_from = lib.name + ":" + path;
            template_tree = std::move(t);
          }
          break;
        }
        if (options.template_pipeline != nullptr) break;
      }
    }
  }
  // With syntax errors the tree is partial: validating it would report
  // follow-on errors (a step lost to an unterminated string makes "no steps"),
  // listed before the real cause. So every syntax error is reported, and the
  // structural checks run once the file parses.
  if (!result.diagnostics.has_errors()) {
    std::optional<Pipeline> pipeline = build_model(*root, result.diagnostics, options);
    if (!result.diagnostics.has_errors()) {
      result.pipeline = std::move(pipeline);
      result.tree = std::move(root);
    }
  }
  result.diagnostics.sort();
  return result;
}

std::optional<LibraryRequests> find_library_requests(std::string_view source, SourceFormat format) {
  Diagnostics diags;
  NodePtr root = format == SourceFormat::Yaml ? parse_yaml_pipeline(source, diags)
                                              : parse_groovy(source, diags);
  if (!root || diags.has_errors()) return std::nullopt;
  return find_library_requests(*root);
}

}  // namespace gantry::pipelines
