// List, Range and Map methods: Java's and the GDK's closures (each, collect,
// findAll, inject, groupBy, sort...).
#include <algorithm>

#include "interp.hpp"

namespace gantry::pipelines::groovy {

namespace {

size_t params_of(const Value& closure) {
  if (closure.type() != Type::Closure || closure.as_closure().node == nullptr) return 1;
  return closure.as_closure().node->params.size();
}

bool index_error(Interpreter& in, int64_t i, size_t size) {
  return in.raise(
      "java.lang.IndexOutOfBoundsException",
      "Index " + std::to_string(i) + " out of bounds for length " + std::to_string(size));
}

}  // namespace

bool Interpreter::Impl::list_method(const Value& recv, const std::string& name,
                                    std::vector<Value>& args, Value& out, bool& found) {
  found = true;
  size_t n = args.size();
  const bool is_range = recv.type() == Type::Range;
  // Ranges are read-only lists; their own members first.
  if (is_range) {
    const Range& r = recv.as_range();
    if (name == "getFrom" || name == "getTo") {
      out = Value::whole(name == "getFrom" ? std::min(r.from, r.to) : std::max(r.from, r.to));
      return true;
    }
    if (name == "size") {
      out = Value::integer(static_cast<int32_t>(r.size()));
      return true;
    }
    if (name == "isReverse") {
      out = Value::boolean(r.reverse());
      return true;
    }
    if (name == "toString" && n == 0) {
      out = Value::string(inspect(recv));
      return true;
    }
    if (name == "containsWithinBounds" && n == 1) {
      bool r2 = false;
      if (!is_in(args[0], recv, r2)) return false;
      out = Value::boolean(r2);
      return true;
    }
    if (name == "contains" && n == 1) {
      bool r2 = false;
      if (!is_in(args[0], recv, r2)) return false;
      out = Value::boolean(r2);
      return true;
    }
    if (name == "step" && n >= 1 && args[0].is_integral()) {
      int64_t step = args[0].as_int();
      if (step == 0) return in.raise("java.lang.IllegalArgumentException", "Step cannot be zero");
      std::vector<Value> items;
      for (int64_t i = 0; i < r.size(); i += std::abs(step)) {
        items.push_back(Value::whole(step > 0 ? r.at(i) : r.at(r.size() - 1 - i)));
        if (!check_size(items.size())) return false;
      }
      Value l = Value::list(std::move(items));
      if (n == 2) {
        std::vector<Value> each_args{args[1]};
        return list_method(l, "each", each_args, out, found);
      }
      out = l;
      return true;
    }
  }
  std::vector<Value> copy;
  if (is_range && !iterate(in, recv, copy)) return false;
  std::vector<Value>& items = is_range ? copy : recv.as_list().items;
  auto mutating = [&]() {
    if (!is_range) return true;
    return in.raise("java.lang.UnsupportedOperationException", "a range cannot be changed");
  };
  auto list = [&](std::vector<Value> v) {
    if (!check_size(v.size())) return false;
    out = Value::list(std::move(v));
    return true;
  };
  auto closure_arg = [&]() -> const Value* {
    return n >= 1 && args.back().type() == Type::Closure ? &args.back() : nullptr;
  };
  // Calls the closure with an item (a list spreads over several parameters).
  auto apply = [&](const Value& c, const Value& item, Value& v) {
    return call_value(c, {item}, v);
  };

  if (name == "size") {
    out = Value::integer(static_cast<int32_t>(items.size()));
    return true;
  }
  if (name == "isEmpty") {
    out = Value::boolean(items.empty());
    return true;
  }
  if ((name == "get" || name == "getAt") && n == 1) {
    if (args[0].is_integral()) {
      int64_t i = args[0].as_int();
      int64_t k = i < 0 && name == "getAt" ? i + static_cast<int64_t>(items.size()) : i;
      if (k < 0 || k >= static_cast<int64_t>(items.size())) {
        if (name == "get") return index_error(in, i, items.size());
        out = Value();  // getAt answers null past the end
        if (k < 0) {
          return in.raise("java.lang.ArrayIndexOutOfBoundsException",
                          "Negative array index [" + std::to_string(i) +
                              "] too large for array size " + std::to_string(items.size()));
        }
        return true;
      }
      out = items[static_cast<size_t>(k)];
      return true;
    }
    if (args[0].type() == Type::Range) {
      const Range& r = args[0].as_range();
      int64_t size = static_cast<int64_t>(items.size());
      if (r.empty) return list({});
      int64_t a = r.from < 0 ? r.from + size : r.from;
      int64_t b = r.to < 0 ? r.to + size : r.to;
      int64_t lo = std::min(a, b);
      int64_t hi = std::max(a, b);
      if (lo < 0 || hi >= size) return index_error(in, lo < 0 ? lo : hi, items.size());
      std::vector<Value> sub(items.begin() + lo, items.begin() + hi + 1);
      if (a > b) std::reverse(sub.begin(), sub.end());
      return list(std::move(sub));
    }
    if (args[0].type() == Type::List) {
      std::vector<Value> picked;
      for (const auto& idx : args[0].as_list().items) {
        Value v;
        std::vector<Value> a{idx};
        if (!list_method(recv, "getAt", a, v, found)) return false;
        picked.push_back(std::move(v));
      }
      return list(std::move(picked));
    }
    if (args[0].is_string()) {  // spread property: list['name']
      std::vector<Value> picked;
      for (const auto& item : items) {
        Value v;
        if (!get_property(item, args[0].as_string(), v, false)) return false;
        picked.push_back(std::move(v));
      }
      return list(std::move(picked));
    }
  }
  if (name == "putAt" && n == 2) {
    if (!mutating()) return false;
    out = Value();
    return set_index(recv, args[0], args[1]);
  }
  if (name == "clone" && n == 0) return list(items);
  if (name == "combinations" && n == 0) {
    // Every combination of one item from each list, the first varying fastest.
    std::vector<std::vector<Value>> lists;
    for (const auto& item : items) {
      std::vector<Value> one;
      if (!iterate(in, item, one)) return false;
      lists.push_back(std::move(one));
    }
    std::vector<Value> r;
    std::vector<size_t> at(lists.size(), 0);
    bool any_empty = lists.empty();
    for (const auto& l : lists) any_empty = any_empty || l.empty();
    while (!any_empty) {
      std::vector<Value> combo;
      for (size_t i = 0; i < lists.size(); ++i) combo.push_back(lists[i][at[i]]);
      r.push_back(Value::list(std::move(combo)));
      if (!check_size(r.size())) return false;
      size_t k = 0;
      while (k < lists.size() && ++at[k] == lists[k].size()) at[k++] = 0;
      if (k == lists.size()) break;
    }
    return list(std::move(r));
  }
  if (name == "set" && n == 2 && args[0].is_integral()) {
    if (!mutating()) return false;
    int64_t i = args[0].as_int();
    if (i < 0 || i >= static_cast<int64_t>(items.size())) return index_error(in, i, items.size());
    out = items[static_cast<size_t>(i)];
    items[static_cast<size_t>(i)] = args[1];
    return true;
  }
  if ((name == "add" || name == "leftShift" || name == "push") && n == 1) {
    if (!mutating() || !check_size(items.size() + 1)) return false;
    items.push_back(args[0]);
    out = name == "leftShift" ? recv : Value::boolean(true);
    return true;
  }
  if (name == "add" && n == 2 && args[0].is_integral()) {
    if (!mutating()) return false;
    int64_t i = args[0].as_int();
    if (i < 0 || i > static_cast<int64_t>(items.size())) return index_error(in, i, items.size());
    items.insert(items.begin() + i, args[1]);
    return true;
  }
  if (name == "addAll" && n == 1) {
    if (!mutating()) return false;
    std::vector<Value> more;
    if (!iterate(in, args[0], more)) return false;
    if (!check_size(items.size() + more.size())) return false;
    items.insert(items.end(), more.begin(), more.end());
    out = Value::boolean(!more.empty());
    return true;
  }
  if (name == "remove" && n == 1) {
    if (!mutating()) return false;
    if (args[0].is_integral()) {
      int64_t i = args[0].as_int();
      if (i < 0 || i >= static_cast<int64_t>(items.size())) return index_error(in, i, items.size());
      out = items[static_cast<size_t>(i)];
      items.erase(items.begin() + i);
      return true;
    }
    for (auto it = items.begin(); it != items.end(); ++it) {
      if (equals(*it, args[0])) {
        items.erase(it);
        out = Value::boolean(true);
        return true;
      }
    }
    out = Value::boolean(false);
    return true;
  }
  if ((name == "removeAll" || name == "retainAll") && n == 1) {
    if (!mutating()) return false;
    std::vector<Value> kept;
    bool changed = false;
    for (const auto& item : items) {
      bool hit = false;
      if (args[0].type() == Type::Closure) {
        if (!predicate(args[0], {item}, hit)) return false;
      } else if (!is_in(item, args[0], hit)) {
        return false;
      }
      bool drop = name == "removeAll" ? hit : !hit;
      changed = changed || drop;
      if (!drop) kept.push_back(item);
    }
    items = std::move(kept);
    out = Value::boolean(changed);
    return true;
  }
  if (name == "pop") {
    if (!mutating()) return false;
    if (items.empty())
      return in.raise("java.util.NoSuchElementException", "Cannot pop() an empty List");
    out = items.back();
    items.pop_back();
    return true;
  }
  if (name == "clear") {
    if (!mutating()) return false;
    items.clear();
    return true;
  }
  if (name == "contains" && n == 1) {
    bool r = false;
    if (!is_in(args[0], Value::list(items), r)) return false;
    out = Value::boolean(r);
    return true;
  }
  if (name == "containsAll" && n == 1) {
    std::vector<Value> need;
    if (!iterate(in, args[0], need)) return false;
    bool all = true;
    for (const auto& x : need) {
      bool r = false;
      if (!is_in(x, Value::list(items), r)) return false;
      all = all && r;
    }
    out = Value::boolean(all);
    return true;
  }
  if ((name == "indexOf" || name == "lastIndexOf") && n == 1) {
    int32_t r = -1;
    for (size_t i = 0; i < items.size(); ++i) {
      if (equals(items[i], args[0])) {
        r = static_cast<int32_t>(i);
        if (name == "indexOf") break;
      }
    }
    out = Value::integer(r);
    return true;
  }
  if (name == "first" || name == "last" || name == "head") {
    if (items.empty()) {
      return in.raise("java.util.NoSuchElementException",
                      "Cannot access " + std::string(name == "last" ? "last()" : name + "()") +
                          " element from an empty List");
    }
    out = name == "last" ? items.back() : items.front();
    return true;
  }
  if (name == "tail" || name == "init") {
    if (items.empty()) {
      return in.raise("java.util.NoSuchElementException",
                      "Cannot access " + name + "() for an empty List");
    }
    return list(name == "tail" ? std::vector<Value>(items.begin() + 1, items.end())
                               : std::vector<Value>(items.begin(), items.end() - 1));
  }
  if ((name == "take" || name == "drop" || name == "takeRight" || name == "dropRight") && n == 1 &&
      args[0].is_integral()) {
    size_t k = static_cast<size_t>(
        std::clamp<int64_t>(args[0].as_int(), 0, static_cast<int64_t>(items.size())));
    if (name == "take") return list(std::vector<Value>(items.begin(), items.begin() + k));
    if (name == "drop") return list(std::vector<Value>(items.begin() + k, items.end()));
    if (name == "takeRight") return list(std::vector<Value>(items.end() - k, items.end()));
    return list(std::vector<Value>(items.begin(), items.end() - k));
  }
  if ((name == "takeWhile" || name == "dropWhile") && closure_arg() != nullptr) {
    size_t k = 0;
    for (; k < items.size(); ++k) {
      bool t = false;
      if (!predicate(args[0], {items[k]}, t)) return false;
      if (!t) break;
    }
    return list(name == "takeWhile" ? std::vector<Value>(items.begin(), items.begin() + k)
                                    : std::vector<Value>(items.begin() + k, items.end()));
  }
  if (name == "reverse") {
    std::vector<Value> r(items.rbegin(), items.rend());
    if (n == 1 && truthy(args[0]) && !is_range) {
      items = r;
      out = recv;
      return true;
    }
    return list(std::move(r));
  }
  if (name == "sort" || name == "toSorted") {
    bool mutate = name == "sort" && !is_range;
    const Value* c = closure_arg();
    if (n >= 1 && args[0].type() == Type::Bool) mutate = args[0].as_bool() && !is_range;
    std::vector<Value> sorted = items;
    bool failed = false;
    auto less = [&](const Value& a, const Value& b) {
      if (failed) return false;
      int r = 0;
      if (c != nullptr && params_of(*c) == 2) {
        Value v;
        if (!call_value(*c, {a, b}, v)) {
          failed = true;
          return false;
        }
        r = v.is_number() ? num::compare(v, Value::integer(0)) : 0;
      } else if (c != nullptr) {
        Value ka;
        Value kb;
        if (!call_value(*c, {a}, ka) || !call_value(*c, {b}, kb) || !compare(in, ka, kb, r)) {
          failed = true;
          return false;
        }
      } else if (!compare(in, a, b, r)) {
        failed = true;
        return false;
      }
      return r < 0;
    };
    std::stable_sort(sorted.begin(), sorted.end(), less);
    if (failed) return false;
    if (mutate) {
      items = sorted;
      out = recv;
      return true;
    }
    return list(std::move(sorted));
  }
  if (name == "unique" || name == "toUnique") {
    bool mutate = name == "unique" && !is_range;
    const Value* c = closure_arg();
    if (n >= 1 && args[0].type() == Type::Bool) mutate = args[0].as_bool() && !is_range;
    std::vector<Value> kept;
    std::vector<Value> keys;
    for (const auto& item : items) {
      Value key = item;
      bool dup = false;
      if (c != nullptr && params_of(*c) == 2) {
        for (const auto& k : kept) {
          Value v;
          if (!call_value(*c, {item, k}, v)) return false;
          if (v.is_number() && num::compare(v, Value::integer(0)) == 0) dup = true;
        }
      } else {
        if (c != nullptr && !call_value(*c, {item}, key)) return false;
        for (const auto& k : keys) dup = dup || equals(k, key);
      }
      if (!dup) {
        kept.push_back(item);
        keys.push_back(key);
      }
    }
    if (mutate) {
      items = kept;
      out = recv;
      return true;
    }
    return list(std::move(kept));
  }
  if (name == "join") {
    std::string sep = n >= 1 ? to_string(args[0]) : "";
    std::string r;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) r += sep;
      r += to_string(items[i]);
      if (!check_size(r.size())) return false;
    }
    out = Value::string(std::move(r));
    return true;
  }
  if ((name == "each" || name == "reverseEach") && closure_arg() != nullptr) {
    std::vector<Value> snapshot = items;
    if (name == "reverseEach") std::reverse(snapshot.begin(), snapshot.end());
    for (const auto& item : snapshot) {
      Value ignored;
      if (!apply(args[0], item, ignored)) return false;
    }
    out = recv;
    return true;
  }
  if (name == "eachWithIndex" && closure_arg() != nullptr) {
    std::vector<Value> snapshot = items;
    for (size_t i = 0; i < snapshot.size(); ++i) {
      Value ignored;
      if (!call_value(args[0], {snapshot[i], Value::integer(static_cast<int32_t>(i))}, ignored)) {
        return false;
      }
    }
    out = recv;
    return true;
  }
  if (name == "collect" || name == "collectMany") {
    std::vector<Value> r;
    for (const auto& item : items) {
      Value v = item;
      if (closure_arg() != nullptr && !apply(args.back(), item, v)) return false;
      if (name == "collectMany") {
        std::vector<Value> more;
        if (!iterate(in, v, more)) return false;
        r.insert(r.end(), more.begin(), more.end());
      } else {
        r.push_back(std::move(v));
      }
      if (!check_size(r.size())) return false;
    }
    return list(std::move(r));
  }
  if (name == "collectEntries") {
    auto m = std::make_shared<Map>();
    for (const auto& item : items) {
      Value v = item;
      if (closure_arg() != nullptr && !apply(args.back(), item, v)) return false;
      if (v.type() == Type::Map) {
        for (const auto& [k, val] : v.as_map().entries()) m->put(k, val);
      } else if (v.type() == Type::List && v.as_list().items.size() == 2) {
        m->put(v.as_list().items[0], v.as_list().items[1]);
      } else if (v.type() == Type::Native) {
        Value k;
        Value val;
        bool f = false;
        if (!v.as_native().get(in, "key", k, f) || !v.as_native().get(in, "value", val, f)) {
          return false;
        }
        m->put(k, val);
      } else {
        return in.raise("java.lang.IllegalArgumentException",
                        "collectEntries: expected a map or a [key, value] pair, got " + inspect(v));
      }
    }
    out = Value::of(std::move(m));
    return true;
  }
  if ((name == "findAll" || name == "grep") && n <= 1) {
    std::vector<Value> r;
    for (const auto& item : items) {
      bool keep = truthy(item);
      if (n == 1) {
        if (args[0].type() == Type::Closure) {
          if (!predicate(args[0], {item}, keep)) return false;
        } else if (!case_matches(args[0], item, keep)) {
          return false;
        }
      }
      if (keep) r.push_back(item);
    }
    return list(std::move(r));
  }
  if ((name == "find" || name == "findIndexOf" || name == "findLastIndexOf" ||
       name == "findResult") &&
      n <= 1) {
    int32_t last = -1;
    for (size_t i = 0; i < items.size(); ++i) {
      if (name == "findResult") {
        Value v;
        if (!apply(args[0], items[i], v)) return false;
        if (!v.is_null()) {
          out = v;
          return true;
        }
        continue;
      }
      bool hit = truthy(items[i]);
      if (n == 1 && !predicate(args[0], {items[i]}, hit)) return false;
      if (!hit) continue;
      if (name == "find") {
        out = items[i];
        return true;
      }
      if (name == "findIndexOf") {
        out = Value::integer(static_cast<int32_t>(i));
        return true;
      }
      last = static_cast<int32_t>(i);
    }
    out = name == "find" || name == "findResult" ? Value() : Value::integer(last);
    return true;
  }
  if ((name == "any" || name == "every") && n <= 1) {
    bool want_any = name == "any";
    for (const auto& item : items) {
      bool hit = truthy(item);
      if (n == 1 && !predicate(args[0], {item}, hit)) return false;
      if (want_any && hit) {
        out = Value::boolean(true);
        return true;
      }
      if (!want_any && !hit) {
        out = Value::boolean(false);
        return true;
      }
    }
    out = Value::boolean(!want_any);
    return true;
  }
  if (name == "inject" && n >= 1) {
    size_t start = 0;
    Value acc;
    if (n == 2) {
      acc = args[0];
    } else {
      if (items.empty()) {
        return in.raise("java.util.NoSuchElementException",
                        "Cannot call inject() on an empty collection without passing an "
                        "initial value.");
      }
      acc = items[0];
      start = 1;
    }
    for (size_t i = start; i < items.size(); ++i) {
      if (!call_value(args.back(), {acc, items[i]}, acc)) return false;
    }
    out = acc;
    return true;
  }
  if ((name == "groupBy" || name == "countBy") && closure_arg() != nullptr) {
    auto m = std::make_shared<Map>();
    for (const auto& item : items) {
      Value key;
      if (!apply(args[0], item, key)) return false;
      Value* slot = m->find(key);
      if (name == "countBy") {
        if (slot == nullptr) {
          m->put(key, Value::integer(1));
        } else {
          *slot = Value::integer(static_cast<int32_t>(slot->as_int() + 1));
        }
        continue;
      }
      if (slot == nullptr) {
        m->put(key, Value::list({item}));
      } else {
        slot->as_list().items.push_back(item);
      }
    }
    out = Value::of(std::move(m));
    return true;
  }
  if (name == "count" && n == 1) {
    int32_t c = 0;
    for (const auto& item : items) {
      bool hit = false;
      if (args[0].type() == Type::Closure) {
        if (!predicate(args[0], {item}, hit)) return false;
      } else {
        hit = equals(item, args[0]);
      }
      c += hit ? 1 : 0;
    }
    out = Value::integer(c);
    return true;
  }
  if (name == "sum") {
    Value acc;
    bool have = false;
    size_t first_arg = 0;
    if (n >= 1 && args[0].type() != Type::Closure) {
      acc = args[0];
      have = true;
      first_arg = 1;
    }
    for (const auto& item : items) {
      Value v = item;
      if (n > first_arg && !apply(args[first_arg], item, v)) return false;
      if (!have) {
        acc = v;
        have = true;
        continue;
      }
      if (!binary_op("+", acc, v, acc)) return false;
    }
    out = acc;
    return true;
  }
  if ((name == "max" || name == "min") && n <= 1) {
    const Value* c = closure_arg();
    Value best;
    Value best_key;
    bool have = false;
    for (const auto& item : items) {
      Value key = item;
      if (c != nullptr && params_of(*c) != 2 && !apply(*c, item, key)) return false;
      if (!have) {
        best = item;
        best_key = key;
        have = true;
        continue;
      }
      int r = 0;
      if (c != nullptr && params_of(*c) == 2) {
        Value v;
        if (!call_value(*c, {item, best}, v)) return false;
        r = v.is_number() ? num::compare(v, Value::integer(0)) : 0;
      } else if (!compare(in, key, best_key, r)) {
        return false;
      }
      if ((name == "max" && r > 0) || (name == "min" && r < 0)) {
        best = item;
        best_key = key;
      }
    }
    out = best;
    return true;
  }
  if (name == "flatten") {
    std::vector<Value> r;
    std::function<bool(const std::vector<Value>&, int)> flat = [&](const std::vector<Value>& xs,
                                                                   int depth) {
      if (depth > 100) return in.raise("gantry.LimitExceeded", "lists nest too deep", true);
      for (const auto& x : xs) {
        if (x.type() == Type::List || x.type() == Type::Range) {
          std::vector<Value> inner;
          if (!iterate(in, x, inner) || !flat(inner, depth + 1)) return false;
        } else {
          r.push_back(x);
          if (!check_size(r.size())) return false;
        }
      }
      return true;
    };
    if (!flat(items, 0)) return false;
    return list(std::move(r));
  }
  if (name == "plus" && n == 2 && args[0].is_integral()) {  // plus(index, items)
    std::vector<Value> r = items;
    int64_t at = args[0].as_int();
    if (at < 0 || at > static_cast<int64_t>(r.size())) return index_error(in, at, r.size());
    std::vector<Value> more;
    if (args[1].type() == Type::List) {
      more = args[1].as_list().items;
    } else {
      more = {args[1]};
    }
    r.insert(r.begin() + at, more.begin(), more.end());
    return list(std::move(r));
  }
  if (name == "findIndexValues" && n == 1) {
    std::vector<Value> r;
    for (size_t i = 0; i < items.size(); ++i) {
      bool hit = false;
      if (!predicate(args[0], {items[i]}, hit)) return false;
      if (hit) r.push_back(Value::integer(static_cast<int32_t>(i)));
    }
    return list(std::move(r));
  }
  if (name == "plus" && n == 1) {
    std::vector<Value> r = items;
    if (args[0].type() == Type::List || args[0].type() == Type::Range) {
      std::vector<Value> more;
      if (!iterate(in, args[0], more)) return false;
      r.insert(r.end(), more.begin(), more.end());
    } else {
      r.push_back(args[0]);
    }
    return list(std::move(r));
  }
  if (name == "minus" && n == 1) {
    std::vector<Value> r;
    for (const auto& item : items) {
      bool drop = false;
      if (args[0].type() == Type::List || args[0].type() == Type::Range) {
        if (!is_in(item, args[0], drop)) return false;
      } else {
        drop = equals(item, args[0]);
      }
      if (!drop) r.push_back(item);
    }
    return list(std::move(r));
  }
  if (name == "multiply" && n == 1 && args[0].is_integral()) {
    std::vector<Value> r;
    for (int64_t i = 0; i < args[0].as_int(); ++i) {
      r.insert(r.end(), items.begin(), items.end());
      if (!check_size(r.size())) return false;
    }
    return list(std::move(r));
  }
  if (name == "intersect" && n == 1) {
    std::vector<Value> r;
    for (const auto& item : items) {
      bool hit = false;
      if (!is_in(item, args[0], hit)) return false;
      bool dup = false;
      for (const auto& x : r) dup = dup || equals(x, item);
      if (hit && !dup) r.push_back(item);
    }
    return list(std::move(r));
  }
  if (name == "disjoint" && n == 1) {
    for (const auto& item : items) {
      bool hit = false;
      if (!is_in(item, args[0], hit)) return false;
      if (hit) {
        out = Value::boolean(false);
        return true;
      }
    }
    out = Value::boolean(true);
    return true;
  }
  if (name == "subList" && n == 2 && args[0].is_integral() && args[1].is_integral()) {
    int64_t a = args[0].as_int();
    int64_t b = args[1].as_int();
    if (a < 0 || b > static_cast<int64_t>(items.size()) || a > b) {
      return in.raise("java.lang.IndexOutOfBoundsException",
                      "fromIndex = " + std::to_string(a) + ", toIndex = " + std::to_string(b));
    }
    return list(std::vector<Value>(items.begin() + a, items.begin() + b));
  }
  if (name == "withIndex" || name == "indexed") {
    std::vector<Value> r;
    auto m = std::make_shared<Map>();
    for (size_t i = 0; i < items.size(); ++i) {
      if (name == "withIndex") {
        r.push_back(Value::list({items[i], Value::integer(static_cast<int32_t>(i))}));
      } else {
        m->put(Value::integer(static_cast<int32_t>(i)), items[i]);
      }
    }
    if (name == "indexed") {
      out = Value::of(std::move(m));
      return true;
    }
    return list(std::move(r));
  }
  if (name == "collate" && n >= 1 && args[0].is_integral() && args[0].as_int() > 0) {
    std::vector<Value> r;
    size_t k = static_cast<size_t>(args[0].as_int());
    bool keep_rest = !(n >= 2 && args.back().type() == Type::Bool && !args.back().as_bool());
    for (size_t i = 0; i < items.size(); i += k) {
      if (!keep_rest && i + k > items.size()) break;
      r.push_back(Value::list(
          std::vector<Value>(items.begin() + i, items.begin() + std::min(items.size(), i + k))));
    }
    return list(std::move(r));
  }
  if (name == "split" && closure_arg() != nullptr) {
    std::vector<Value> yes;
    std::vector<Value> no;
    for (const auto& item : items) {
      bool hit = false;
      if (!predicate(args[0], {item}, hit)) return false;
      (hit ? yes : no).push_back(item);
    }
    return list({Value::list(std::move(yes)), Value::list(std::move(no))});
  }
  if (name == "transpose") {
    std::vector<std::vector<Value>> rows;
    size_t width = SIZE_MAX;
    for (const auto& item : items) {
      std::vector<Value> row;
      if (!iterate(in, item, row)) return false;
      width = std::min(width, row.size());
      rows.push_back(std::move(row));
    }
    std::vector<Value> r;
    for (size_t i = 0; !rows.empty() && i < width; ++i) {
      std::vector<Value> col;
      for (const auto& row : rows) col.push_back(row[i]);
      r.push_back(Value::list(std::move(col)));
    }
    return list(std::move(r));
  }
  if (name == "toList" || name == "asList" || name == "toArray" || name == "asImmutable" ||
      name == "asUnmodifiable" || name == "toSet" || name == "asSynchronized") {
    if (name == "toSet") {
      std::vector<Value> r;
      for (const auto& item : items) {
        bool dup = false;
        for (const auto& x : r) dup = dup || equals(x, item);
        if (!dup) r.push_back(item);
      }
      return list(std::move(r));
    }
    return list(items);
  }
  if (name == "isCase" && n == 1) {
    bool r = false;
    if (!is_in(args[0], recv, r)) return false;
    out = Value::boolean(r);
    return true;
  }
  found = false;
  return true;
}

bool Interpreter::Impl::map_method(const Value& recv, const std::string& name,
                                   std::vector<Value>& args, Value& out, bool& found) {
  found = true;
  Map& m = recv.as_map();
  size_t n = args.size();
  auto entries = m.entries();  // a snapshot: closures may change the map
  // Calls a closure with an entry, or its key and value for two parameters.
  auto call_entry = [&](const Value& c, const Value& k, const Value& v, Value& r) {
    if (params_of(c) == 2) return call_value(c, {k, v}, r);
    return call_value(c, {map_entry(k, v)}, r);
  };
  auto entry_true = [&](const Value& c, const Value& k, const Value& v, bool& r) {
    Value res;
    if (!call_entry(c, k, v, res)) return false;
    r = truthy(res);
    return true;
  };
  if (name == "size") {
    out = Value::integer(static_cast<int32_t>(m.size()));
    return true;
  }
  if (name == "isEmpty") {
    out = Value::boolean(m.size() == 0);
    return true;
  }
  if ((name == "get" || name == "getAt") && n >= 1) {
    const Value* v = m.find(args[0]);
    if (v != nullptr) {
      out = *v;
    } else if (name == "get" && n == 2) {
      m.put(args[0], args[1]);  // the GDK's get(key, default) stores the default
      out = args[1];
    } else {
      out = Value();
    }
    return true;
  }
  if (name == "getOrDefault" && n == 2) {
    const Value* v = m.find(args[0]);
    out = v != nullptr ? *v : args[1];
    return true;
  }
  if ((name == "put" || name == "putAt") && n == 2) {
    const Value* old = m.find(args[0]);
    out = old != nullptr ? *old : Value();
    if (!check_size(m.size() + 1)) return false;
    m.put(args[0], args[1]);
    return true;
  }
  if (name == "putIfAbsent" && n == 2) {
    const Value* old = m.find(args[0]);
    out = old != nullptr ? *old : Value();
    if (old == nullptr) m.put(args[0], args[1]);
    return true;
  }
  if (name == "computeIfAbsent" && n == 2) {
    if (const Value* old = m.find(args[0])) {
      out = *old;
      return true;
    }
    if (!call_value(args[1], {args[0]}, out)) return false;
    if (!out.is_null()) m.put(args[0], out);
    return true;
  }
  if ((name == "putAll" || name == "leftShift") && n == 1) {
    if (args[0].type() == Type::Map) {
      for (const auto& [k, v] : args[0].as_map().entries()) m.put(k, v);
    } else if (args[0].type() == Type::Native) {
      Value k;
      Value v;
      bool f = false;
      if (!args[0].as_native().get(in, "key", k, f) ||
          !args[0].as_native().get(in, "value", v, f)) {
        return false;
      }
      m.put(k, v);
    }
    if (!check_size(m.size())) return false;
    out = name == "leftShift" ? recv : Value();
    return true;
  }
  if (name == "containsKey" && n == 1) {
    out = Value::boolean(m.find(args[0]) != nullptr);
    return true;
  }
  if (name == "containsValue" && n == 1) {
    bool r = false;
    for (const auto& [k, v] : entries) r = r || equals(v, args[0]);
    out = Value::boolean(r);
    return true;
  }
  if (name == "remove" && n == 1) {
    const Value* old = m.find(args[0]);
    out = old != nullptr ? *old : Value();
    m.remove(args[0]);
    return true;
  }
  if (name == "clear") {
    m.clear();
    return true;
  }
  if (name == "keySet" || name == "values" || name == "entrySet" || name == "getKeys") {
    std::vector<Value> r;
    for (const auto& [k, v] : entries) {
      r.push_back(name == "values" ? v : (name == "entrySet" ? map_entry(k, v) : k));
    }
    out = Value::list(std::move(r));
    out.as_list().java_class = name == "values"     ? "java.util.LinkedHashMap$LinkedValues"
                               : name == "entrySet" ? "java.util.LinkedHashMap$LinkedEntrySet"
                                                    : "java.util.LinkedHashMap$LinkedKeySet";
    return true;
  }
  if ((name == "each" || name == "eachWithIndex") && n == 1) {
    int32_t i = 0;
    for (const auto& [k, v] : entries) {
      Value ignored;
      bool ok = name == "each"
                    ? call_entry(args[0], k, v, ignored)
                    : (params_of(args[0]) == 3
                           ? call_value(args[0], {k, v, Value::integer(i)}, ignored)
                           : call_value(args[0], {map_entry(k, v), Value::integer(i)}, ignored));
      if (!ok) return false;
      ++i;
    }
    out = recv;
    return true;
  }
  if ((name == "collect" || name == "collectMany") && n == 1) {
    std::vector<Value> r;
    for (const auto& [k, v] : entries) {
      Value x;
      if (!call_entry(args[0], k, v, x)) return false;
      if (name == "collectMany") {
        std::vector<Value> more;
        if (!iterate(in, x, more)) return false;
        r.insert(r.end(), more.begin(), more.end());
      } else {
        r.push_back(std::move(x));
      }
    }
    out = Value::list(std::move(r));
    return true;
  }
  if (name == "collectEntries" && n == 1) {
    auto r = std::make_shared<Map>();
    for (const auto& [k, v] : entries) {
      Value x;
      if (!call_entry(args[0], k, v, x)) return false;
      if (x.type() == Type::Map) {
        for (const auto& [xk, xv] : x.as_map().entries()) r->put(xk, xv);
      } else if (x.type() == Type::List && x.as_list().items.size() == 2) {
        r->put(x.as_list().items[0], x.as_list().items[1]);
      } else {
        return in.raise("java.lang.IllegalArgumentException",
                        "collectEntries: expected a map or a [key, value] pair, got " + inspect(x));
      }
    }
    out = Value::of(std::move(r));
    return true;
  }
  if ((name == "findAll" || name == "find" || name == "any" || name == "every" ||
       name == "count") &&
      n == 1) {
    auto r = std::make_shared<Map>();
    int32_t count = 0;
    for (const auto& [k, v] : entries) {
      bool hit = false;
      if (!entry_true(args[0], k, v, hit)) return false;
      if (name == "find" && hit) {
        out = map_entry(k, v);
        return true;
      }
      if (name == "any" && hit) {
        out = Value::boolean(true);
        return true;
      }
      if (name == "every" && !hit) {
        out = Value::boolean(false);
        return true;
      }
      if (hit) {
        r->put(k, v);
        ++count;
      }
    }
    if (name == "findAll") out = Value::of(std::move(r));
    if (name == "find") out = Value();
    if (name == "any") out = Value::boolean(false);
    if (name == "every") out = Value::boolean(true);
    if (name == "count") out = Value::integer(count);
    return true;
  }
  if (name == "inject" && n == 2) {
    Value acc = args[0];
    for (const auto& [k, v] : entries) {
      bool three = params_of(args[1]) == 3;
      if (!(three ? call_value(args[1], {acc, k, v}, acc)
                  : call_value(args[1], {acc, map_entry(k, v)}, acc))) {
        return false;
      }
    }
    out = acc;
    return true;
  }
  if (name == "groupBy" && n == 1) {
    auto r = std::make_shared<Map>();
    for (const auto& [k, v] : entries) {
      Value key;
      if (!call_entry(args[0], k, v, key)) return false;
      Value* slot = r->find(key);
      if (slot == nullptr) {
        auto sub = std::make_shared<Map>();
        sub->put(k, v);
        r->put(key, Value::of(std::move(sub)));
      } else {
        slot->as_map().put(k, v);
      }
    }
    out = Value::of(std::move(r));
    return true;
  }
  if (name == "sort") {
    std::vector<std::pair<Value, Value>> sorted = entries;
    bool failed = false;
    const Value* c = n == 1 ? &args[0] : nullptr;
    auto less = [&](const std::pair<Value, Value>& a, const std::pair<Value, Value>& b) {
      if (failed) return false;
      int r = 0;
      if (c == nullptr) {
        if (!compare(in, a.first, b.first, r)) failed = true;
      } else if (params_of(*c) == 2) {
        Value v;
        if (!call_value(*c, {map_entry(a.first, a.second), map_entry(b.first, b.second)}, v)) {
          failed = true;
        }
        r = v.is_number() ? num::compare(v, Value::integer(0)) : 0;
      } else {
        Value ka;
        Value kb;
        if (!call_value(*c, {map_entry(a.first, a.second)}, ka) ||
            !call_value(*c, {map_entry(b.first, b.second)}, kb) || !compare(in, ka, kb, r)) {
          failed = true;
        }
      }
      return r < 0;
    };
    std::stable_sort(sorted.begin(), sorted.end(), less);
    if (failed) return false;
    auto r = std::make_shared<Map>();
    for (auto& [k, v] : sorted) r->put(k, v);
    out = Value::of(std::move(r));
    return true;
  }
  if ((name == "max" || name == "min") && n == 1) {
    Value best;
    Value best_key;
    bool have = false;
    for (const auto& [k, v] : entries) {
      Value key;
      if (!call_entry(args[0], k, v, key)) return false;
      int r = 0;
      if (have && !compare(in, key, best_key, r)) return false;
      if (!have || (name == "max" && r > 0) || (name == "min" && r < 0)) {
        best = map_entry(k, v);
        best_key = key;
        have = true;
      }
    }
    out = best;
    return true;
  }
  if (name == "subMap" && n == 1) {
    std::vector<Value> keys;
    if (!iterate(in, args[0], keys)) return false;
    auto r = std::make_shared<Map>();
    for (const auto& k : keys) {
      if (const Value* v = m.find(k)) r->put(k, *v);
    }
    out = Value::of(std::move(r));
    return true;
  }
  if (name == "plus" && n == 1 && args[0].type() == Type::Map) {
    auto r = std::make_shared<Map>();
    for (const auto& [k, v] : entries) r->put(k, v);
    for (const auto& [k, v] : args[0].as_map().entries()) r->put(k, v);
    out = Value::of(std::move(r));
    return true;
  }
  if (name == "minus" && n == 1 && args[0].type() == Type::Map) {
    auto r = std::make_shared<Map>();
    for (const auto& [k, v] : entries) {
      const Value* o = args[0].as_map().find(k);
      if (o == nullptr || !equals(*o, v)) r->put(k, v);
    }
    out = Value::of(std::move(r));
    return true;
  }
  if ((name == "take" || name == "drop") && n == 1 && args[0].is_integral()) {
    auto r = std::make_shared<Map>();
    size_t k = static_cast<size_t>(std::max<int64_t>(0, args[0].as_int()));
    for (size_t i = 0; i < entries.size(); ++i) {
      if ((name == "take") == (i < k)) r->put(entries[i].first, entries[i].second);
    }
    out = Value::of(std::move(r));
    return true;
  }
  if (name == "asImmutable" || name == "asUnmodifiable") {
    out = recv;
    return true;
  }
  if ((name == "countBy" || name == "findResult") && n == 1) {
    auto r = std::make_shared<Map>();
    for (const auto& [k, v] : entries) {
      Value x;
      if (!call_entry(args[0], k, v, x)) return false;
      if (name == "findResult") {
        if (!x.is_null()) {
          out = x;
          return true;
        }
        continue;
      }
      Value* slot = r->find(x);
      if (slot == nullptr) {
        r->put(x, Value::integer(1));
      } else {
        *slot = Value::integer(static_cast<int32_t>(slot->as_int() + 1));
      }
    }
    out = name == "findResult" ? Value() : Value::of(std::move(r));
    return true;
  }
  if ((name == "firstKey" || name == "lastKey") && n == 0) {
    if (entries.empty()) return in.raise("java.util.NoSuchElementException", "");
    out = name == "firstKey" ? entries.front().first : entries.back().first;
    return true;
  }
  if (name == "withDefault" && n == 1) {
    auto r = std::make_shared<Map>(m);
    r->defaults = args[0];
    out = Value::of(std::move(r));
    return true;
  }
  if (name == "clone" && n == 0) {
    out = Value::of(std::make_shared<Map>(m));
    return true;
  }
  if (name == "isCase") {
    out = Value::boolean(n == 1 && m.find(args[0]) != nullptr);
    return true;
  }
  found = false;
  return true;
}

}  // namespace gantry::pipelines::groovy
