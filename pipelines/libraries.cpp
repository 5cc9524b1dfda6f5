// Shared libraries: the requests a pipeline makes and the files a run carries
// (libraries.hpp).
#include "gantry/pipelines/libraries.hpp"

#include <nlohmann/json.hpp>

namespace gantry::pipelines {

namespace {

const Node* literal(const Node* n) {
  return n != nullptr && n->kind == NodeKind::String ? n : nullptr;
}

class Finder {
 public:
  LibraryRequests out;

  void add(const std::string& spec, Pos pos) {
    LibraryRequest r = parse_library_spec(spec, pos);
    if (r.name.empty()) return;
    for (const auto& w : out.wanted) {
      if (w.name == r.name) return;  // the first mention wins, as in Jenkins
    }
    out.wanted.push_back(std::move(r));
  }

  // @Library('a@1'), @Library(['a', 'b']), @Library(value = 'a') (named `value`).
  void annotation(const Node& a) {
    auto take = [&](const Node* v) {
      if (v == nullptr) return;
      if (v->kind == NodeKind::String) add(v->text, v->pos);
      if (v->kind == NodeKind::List) {
        for (const auto& item : v->items) {
          if (const Node* s = literal(item.get())) add(s->text, s->pos);
        }
      }
    };
    for (const auto& item : a.items) {
      const Node* v = item.get();
      // @Library(value = 'a', changelog = false): Java annotation syntax.
      if (v != nullptr && v->kind == NodeKind::Assign) {
        v = v->lhs && v->lhs->kind == NodeKind::Ident && v->lhs->text == "value" ? v->rhs.get()
                                                                                 : nullptr;
      }
      take(v);
    }
    for (const auto& n : a.named) {
      if (n.name == "value") take(n.value.get());
    }
  }

  // `library 'a@1'`, `library identifier: 'a@1', retriever: ...`.
  void library_step(const Node& call) {
    const Node* arg = call.items.empty() ? nullptr : call.items[0].get();
    for (const auto& n : call.named) {
      if (n.name == "identifier") arg = n.value.get();
    }
    if (const Node* s = literal(arg)) {
      add(s->text, s->pos);
    } else {
      out.dynamic.push_back(call.pos);
    }
  }

  void walk(const Node* n, int depth) {
    if (n == nullptr || depth > 200) return;
    if (n->kind == NodeKind::Annotation && n->text == "Library") annotation(*n);
    if (n->kind == NodeKind::Call && !n->lhs) {
      if (n->text == "library") library_step(*n);
      if (n->text == "libraries" && n->block) {
        for (const auto& stmt : n->block->items) {
          const Node* c = stmt && stmt->kind == NodeKind::ExprStmt ? stmt->lhs.get() : stmt.get();
          if (c != nullptr && c->kind == NodeKind::Call && c->text == "lib" && !c->items.empty()) {
            if (const Node* s = literal(c->items[0].get())) add(s->text, s->pos);
          }
        }
      }
    }
    walk(n->lhs.get(), depth + 1);
    walk(n->rhs.get(), depth + 1);
    walk(n->third.get(), depth + 1);
    walk(n->block.get(), depth + 1);
    for (const auto& i : n->items) walk(i.get(), depth + 1);
    for (const auto& a : n->named) walk(a.value.get(), depth + 1);
  }
};

}  // namespace

LibraryRequest parse_library_spec(std::string_view spec, Pos pos) {
  LibraryRequest r;
  r.pos = pos;
  size_t at = spec.find('@');
  r.name = std::string(spec.substr(0, at));
  if (at != std::string_view::npos) r.version = std::string(spec.substr(at + 1));
  while (!r.name.empty() && r.name.back() == ' ') r.name.pop_back();
  while (!r.name.empty() && r.name.front() == ' ') r.name.erase(0, 1);
  return r;
}

LibraryRequests find_library_requests(const Node& root) {
  Finder f;
  f.walk(&root, 0);
  return f.out;
}

bool is_library_file(std::string_view path) {
  if (path.find("..") != std::string_view::npos) return false;
  auto ends = [&](std::string_view s) { return path.size() > s.size() && path.ends_with(s); };
  if (path.starts_with("vars/")) {
    return ends(".groovy") && path.find('/', 5) == std::string_view::npos;
  }
  if (path.starts_with("src/")) return ends(".groovy");
  return path.starts_with("resources/") && path.size() > 10;
}

std::string encode_libraries(const LibraryBundle& libs) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& l : libs) {
    nlohmann::json files = nlohmann::json::object();
    for (const auto& f : l.files) files[f.path] = f.text;
    arr.push_back(
        {{"name", l.name}, {"version", l.version}, {"commit", l.commit}, {"files", files}});
  }
  return arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool decode_libraries(std::string_view json, LibraryBundle& out, std::string& error) {
  out.clear();
  if (json.empty()) return true;
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_array()) {
    error = "the run's libraries are not a JSON list";
    return false;
  }
  for (const auto& l : j) {
    if (!l.is_object() || !l.contains("name") || !l["name"].is_string()) {
      error = "a library without a name";
      return false;
    }
    LoadedLibrary lib;
    lib.name = l["name"].get<std::string>();
    lib.version = l.value("version", "");
    lib.commit = l.value("commit", "");
    if (l.contains("files") && l["files"].is_object()) {
      for (const auto& [path, text] : l["files"].items()) {
        if (text.is_string()) lib.files.push_back(LibraryFile{path, text.get<std::string>()});
      }
    }
    out.push_back(std::move(lib));
  }
  return true;
}

std::string library_pins_json(const LibraryBundle& libs) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& l : libs) {
    arr.push_back({{"name", l.name}, {"version", l.version}, {"commit", l.commit}});
  }
  return arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::set<std::string> library_globals(const LibraryBundle& libs) {
  std::set<std::string> out;
  for (const auto& l : libs) {
    for (const auto& f : l.files) {
      if (f.path.starts_with("vars/") && f.path.ends_with(".groovy")) {
        out.insert(f.path.substr(5, f.path.size() - 5 - 7));
      }
    }
  }
  return out;
}

const LibraryFile* find_library_file(const LibraryBundle& libs, std::string_view path) {
  for (const auto& l : libs) {
    for (const auto& f : l.files) {
      if (f.path == path) return &f;
    }
  }
  return nullptr;
}

}  // namespace gantry::pipelines
