#include "runner/steps_utility.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace gantry::agent;
namespace groovy = gantry::pipelines::groovy;
using groovy::Type;
using groovy::Value;

namespace {

Value yaml(const std::string& text) {
  Value v;
  std::string error;
  REQUIRE(utility::parse_yaml(text, v, error));
  return v;
}

Value field(const Value& map, const std::string& key) {
  const Value* v = map.as_map().find(Value::string(key));
  return v == nullptr ? Value::string("<missing>") : *v;
}

}  // namespace

TEST_CASE("utility: JSON keeps key order and writes compact or indented text") {
  Value v;
  std::string error;
  REQUIRE(utility::parse_json(R"({"z": 1, "a": [2.5, "x", null, false], "big": 5000000000})", v,
                              error));
  CHECK(groovy::to_string(v) == "[z:1, a:[2.5, x, null, false], big:5000000000]");
  CHECK(field(v, "big").type() == Type::Long);
  std::string out;
  REQUIRE(utility::write_json(v, 0, out, error));
  CHECK(out == R"({"z":1,"a":[2.5,"x",null,false],"big":5000000000})");
  out.clear();
  REQUIRE(utility::write_json(Value::string(R"({"a": {}, "b": [1]})"), 2, out, error));
  CHECK(out == "{\n  \"a\": {},\n  \"b\": [\n    1\n  ]\n}");
  CHECK_FALSE(utility::parse_json("{\"a\": ", v, error));
  CHECK(error.find("not valid JSON") == 0);
}

TEST_CASE("utility: YAML plain scalars are typed as SnakeYAML types them") {
  Value v = yaml("a: 12\nb: 0x1f\nc: 010\nd: 1.5\ne: yes\nf: Off\ng: ~\nh: '12'\ni: 1.2.3\nj:\n");
  CHECK(field(v, "a").as_int() == 12);
  CHECK(field(v, "b").as_int() == 31);
  CHECK(field(v, "c").as_int() == 8);
  CHECK(field(v, "d").type() == Type::Double);
  CHECK(field(v, "e").as_bool());
  CHECK(field(v, "f").type() == Type::Bool);
  CHECK(field(v, "g").is_null());
  CHECK(field(v, "h").as_string() == "12");
  CHECK(field(v, "i").as_string() == "1.2.3");
  CHECK(field(v, "j").is_null());
  CHECK(yaml("").is_null());
  Value docs = yaml("a: 1\n---\n- x\n");
  REQUIRE(docs.type() == Type::List);
  CHECK(docs.as_list().items.size() == 2);
  Value bad;
  std::string error;
  CHECK_FALSE(utility::parse_yaml("a: [1, 2", bad, error));
  CHECK(error.find("not valid YAML") == 0);
}

TEST_CASE("utility: written YAML reads back as the same values") {
  Value v = yaml("s: '1.10'\nt: 'true'\nn: 3\nl: [a, 'null', {k: v}]\nm: \"two\\nlines\"\n");
  std::string out, error;
  REQUIRE(utility::write_yaml({v, Value::list({Value::whole(1)})}, out, error));
  Value back = yaml(out);
  REQUIRE(back.type() == Type::List);
  CHECK(groovy::inspect(back.as_list().items[0]) == groovy::inspect(v));
  CHECK(groovy::to_string(back.as_list().items[1]) == "[1]");
}

TEST_CASE("utility: properties follow java.util.Properties") {
  groovy::Map m;
  utility::parse_properties(
      "# c\n  ! c\n\na=1\nb : 2\nc 3\nd\\=x = y\\tz\nlong = one \\\n   two \\\\\ne=\\u00e9\\\n"
      "\r\nempty=\n  spaced key  =  v  \n",
      m);
  auto get = [&](const std::string& k) {
    const Value* v = m.find(Value::string(k));
    return v == nullptr ? std::string("<missing>") : v->as_string();
  };
  CHECK(get("a") == "1");
  CHECK(get("b") == "2");
  CHECK(get("c") == "3");
  CHECK(get("d=x") == "y\tz");
  CHECK(get("long") == "one two \\");
  CHECK(get("e") == "\xC3\xA9");
  CHECK(get("empty").empty());
  CHECK(get("spaced") == "key  =  v  ");
  CHECK(m.size() == 8);
}

TEST_CASE("utility: CSV quotes commas newlines and doubled quotes") {
  Value v;
  std::string error;
  REQUIRE(utility::parse_csv("a,b,\r\n\n\"x,\ny\",\"say \"\"hi\"\"\"\nlast", v, error));
  CHECK(groovy::inspect(v) == R"([['a', 'b', ''], ['x,\ny', 'say "hi"'], ['last']])");
  CHECK_FALSE(utility::parse_csv("\"open", v, error));
}

TEST_CASE("utility: files must stay inside the workspace") {
  namespace fs = std::filesystem;
  fs::path ws = fs::temp_directory_path() / "gantry-utility-test";
  fs::remove_all(ws);
  fs::create_directories(ws / "sub");
  fs::create_symlink("/etc", ws / "etc-link");
  auto call = [&](std::vector<std::pair<std::string, Value>> named) {
    groovy::StepCall c;
    c.name = "readJSON";
    c.named = std::move(named);
    return c;
  };
  Value out;
  StepStatus st = run_utility_step(call({{"file", Value::string("../../x.json")}}), ws.string(),
                                   (ws / "sub").string(), out);
  CHECK(st.message ==
        "readJSON: '../../x.json' is outside the workspace: files must stay inside it");
  st = run_utility_step(call({{"file", Value::string("etc-link/hostname")}}), ws.string(),
                        ws.string(), out);
  CHECK(st.message.find("is outside the workspace") != std::string::npos);
  std::ofstream(ws / "a.json") << R"({"k": [1]})";
  st = run_utility_step(call({{"file", Value::string("../a.json")}}), ws.string(),
                        (ws / "sub").string(), out);
  CHECK(st.ok);
  CHECK(groovy::to_string(out) == "[k:[1]]");
  st = run_utility_step(call({{"file", Value::string("a.json")}, {"text", Value::string("{}")}}),
                        ws.string(), ws.string(), out);
  CHECK(st.message == "readJSON: give file: or text:, not both");
  fs::remove_all(ws);
}
