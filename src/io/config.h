// Configs: TOML files with CLI overrides (--set section.key=value), one mechanism.
// A ConfigSchema binds dotted keys to fields of a plain struct; loading checks
// every key and type, and the resolved config is written back as TOML.
#pragma once
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace sinklab {

class ConfigSchema {
 public:
  using Ptr = std::variant<int*, int64_t*, double*, bool*, std::string*, std::vector<int>*, std::vector<std::string>*>;
  void add(const std::string& key, Ptr field, const std::string& help);

  // Reads a TOML document; InputError for malformed TOML, unknown keys (the message
  // lists the valid ones) and wrong types.
  void load_toml_text(const std::string& text, const std::string& what);
  void load_toml_file(const std::string& path);
  // One override "section.key=value"; the value is read as TOML (strings may be bare).
  void set(const std::string& assignment);
  std::string to_toml() const;
  std::vector<std::string> keys() const;
  std::string value_text(const std::string& key) const;  // the key's value as TOML writes it
  std::string help_text() const;  // "key (type, default): help" lines

 private:
  struct Field {
    std::string key;
    Ptr ptr;
    std::string help;
  };
  Field* find(const std::string& key);
  std::string valid_keys_near(const std::string& key) const;
  std::vector<Field> fields_;
};

}  // namespace sinklab
