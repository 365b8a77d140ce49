#include "io/config.h"

#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "io/error.h"
#include "io/files.h"

namespace sinklab {

namespace {

const char* type_name(const ConfigSchema::Ptr& p) {
  switch (p.index()) {
    case 0: case 1: return "integer";
    case 2: return "number";
    case 3: return "boolean";
    case 4: return "string";
    case 5: return "integer array";
    default: return "string array";
  }
}

void assign(const std::string& key, const ConfigSchema::Ptr& ptr, const toml::node& n, const std::string& what) {
  auto bad = [&]() {
    fail(fmt::format("{}: key '{}' must be {} {}", what, key, ptr.index() == 3 ? "a" : "a", type_name(ptr)));
  };
  std::visit(
      [&](auto* f) {
        using T = std::remove_pointer_t<decltype(f)>;
        if constexpr (std::is_same_v<T, int> || std::is_same_v<T, int64_t>) {
          auto v = n.value<int64_t>();
          if (!n.is_integer() || !v) bad();
          if constexpr (std::is_same_v<T, int>)
            if (*v < INT32_MIN || *v > INT32_MAX) fail(fmt::format("{}: key '{}' is out of range", what, key));
          *f = (T)*v;
        } else if constexpr (std::is_same_v<T, double>) {
          if (!n.is_number()) bad();
          *f = *n.value<double>();
        } else if constexpr (std::is_same_v<T, bool>) {
          if (!n.is_boolean()) bad();
          *f = *n.value<bool>();
        } else if constexpr (std::is_same_v<T, std::string>) {
          if (!n.is_string()) bad();
          *f = *n.value<std::string>();
        } else if constexpr (std::is_same_v<T, std::vector<int>>) {
          if (!n.is_array()) bad();
          f->clear();
          for (auto& e : *n.as_array()) {
            if (!e.is_integer()) bad();
            f->push_back((int)*e.value<int64_t>());
          }
        } else {
          if (!n.is_array()) bad();
          f->clear();
          for (auto& e : *n.as_array()) {
            if (!e.is_string()) bad();
            f->push_back(*e.value<std::string>());
          }
        }
      },
      ptr);
}

std::string quote(const std::string& s) {
  std::ostringstream o;
  o << toml::value<std::string>(s);
  return o.str();
}

}  // namespace

void ConfigSchema::add(const std::string& key, Ptr field, const std::string& help) {
  fields_.push_back({key, field, help});
}

ConfigSchema::Field* ConfigSchema::find(const std::string& key) {
  for (auto& f : fields_)
    if (f.key == key) return &f;
  return nullptr;
}

std::vector<std::string> ConfigSchema::keys() const {
  std::vector<std::string> k;
  for (auto& f : fields_) k.push_back(f.key);
  return k;
}

std::string ConfigSchema::valid_keys_near(const std::string& key) const {
  // Keys of the same section if there are any, else every key.
  auto dot = key.rfind('.');
  std::string section = dot == std::string::npos ? "" : key.substr(0, dot + 1);
  std::string out;
  for (auto& f : fields_)
    if (!section.empty() && f.key.rfind(section, 0) == 0) out += (out.empty() ? "" : ", ") + f.key;
  if (out.empty())
    for (auto& f : fields_) out += (out.empty() ? "" : ", ") + f.key;
  return out;
}

void ConfigSchema::load_toml_text(const std::string& text, const std::string& what) {
  toml::table tbl;
  try {
    tbl = toml::parse(text, what);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    fail(fmt::format("{}: malformed TOML at line {}, column {}: {}", what, src.begin.line, src.begin.column,
                     e.description()));
  }
  // Walk every leaf, with dotted keys.
  std::function<void(const toml::table&, const std::string&)> walk = [&](const toml::table& t, const std::string& pre) {
    for (auto& [k, node] : t) {
      std::string key = pre + std::string(k.str());
      if (node.is_table()) {
        walk(*node.as_table(), key + ".");
        continue;
      }
      Field* f = find(key);
      if (!f) fail(fmt::format("{}: unknown key '{}' (valid: {})", what, key, valid_keys_near(key)));
      assign(key, f->ptr, node, what);
    }
  };
  walk(tbl, "");
}

void ConfigSchema::load_toml_file(const std::string& path) { load_toml_text(read_file(path), "'" + path + "'"); }

void ConfigSchema::set(const std::string& assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) fail("--set expects key=value, got '" + assignment + "'");
  std::string key = assignment.substr(0, eq), value = assignment.substr(eq + 1);
  Field* f = find(key);
  if (!f) fail(fmt::format("--set: unknown key '{}' (valid: {})", key, valid_keys_near(key)));
  toml::table t;
  try {
    t = toml::parse("v = " + value);
  } catch (const toml::parse_error&) {
    if (f->ptr.index() != 4) fail(fmt::format("--set: key '{}' must be {}, got '{}'", key, type_name(f->ptr), value));
    t = toml::table{{"v", value}};  // bare string
  }
  assign(key, f->ptr, *t.get("v"), "--set");
}

namespace {
std::string render(const ConfigSchema::Ptr& ptr) {
  return std::visit(
      [](auto* p) -> std::string {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, bool>) return *p ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::string>) return quote(*p);
        else if constexpr (std::is_same_v<T, double>) return fmt::format("{}", *p).find_first_of(".en") == std::string::npos ? fmt::format("{}.0", *p) : fmt::format("{}", *p);
        else if constexpr (std::is_same_v<T, std::vector<int>>) {
          std::string s = "[";
          for (size_t i = 0; i < p->size(); ++i) s += (i ? ", " : "") + std::to_string((*p)[i]);
          return s + "]";
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          std::string s = "[";
          for (size_t i = 0; i < p->size(); ++i) s += (i ? ", " : "") + quote((*p)[i]);
          return s + "]";
        } else return std::to_string(*p);
      },
      ptr);
}
}  // namespace

std::string ConfigSchema::value_text(const std::string& key) const {
  for (auto& f : fields_)
    if (f.key == key) return render(f.ptr);
  fail("unknown key '" + key + "'");
}

std::string ConfigSchema::to_toml() const {
  std::string out, section = "\x01";
  for (auto& f : fields_) {
    auto dot = f.key.rfind('.');
    std::string sec = dot == std::string::npos ? "" : f.key.substr(0, dot);
    std::string name = dot == std::string::npos ? f.key : f.key.substr(dot + 1);
    if (sec != section) {
      if (!sec.empty()) out += (out.empty() ? "" : "\n") + std::string("[") + sec + "]\n";
      section = sec;
    }
    std::string val = render(f.ptr);
    out += fmt::format("{} = {}  # {}\n", name, val, f.help);
  }
  return out;
}

std::string ConfigSchema::help_text() const {
  std::string out;
  for (auto& f : fields_) out += fmt::format("  {:<28} {:<14} {}\n", f.key, type_name(f.ptr), f.help);
  return out;
}

}  // namespace sinklab
