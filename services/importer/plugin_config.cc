#include "services/importer/plugin_config.h"

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace expertise::importer {

absl::StatusOr<ConfigMap> ParseConfigJson(const std::string& text, const std::string& origin) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(origin, ": not valid JSON"));
  if (!doc.is_object()) return absl::InvalidArgumentError(absl::StrCat(origin, ": must be a JSON object"));
  ConfigMap out;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& value = it.value();
    auto bad = [&](const char* why) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": config key '", key, "' ", why));
    };
    if (value.is_string()) {
      out[key] = value.get<std::string>();
    } else if (value.is_boolean()) {
      out[key] = value.get<bool>() ? "true" : "false";
    } else if (value.is_number_integer()) {
      out[key] = std::to_string(value.get<long long>());
    } else if (value.is_number()) {
      out[key] = value.dump();
    } else if (value.is_array()) {
      std::vector<std::string> items;
      for (const auto& item : value) {
        if (!item.is_string()) return bad("must be an array of strings");
        items.push_back(item.get<std::string>());
      }
      out[key] = absl::StrJoin(items, ",");
    } else if (value.is_object()) {
      std::vector<std::string> pairs;
      for (auto p = value.begin(); p != value.end(); ++p) {
        if (!p.value().is_string()) return bad("must map strings to strings");
        pairs.push_back(absl::StrCat(p.key(), "=", p.value().get<std::string>()));
      }
      out[key] = absl::StrJoin(pairs, ",");
    } else {
      return bad("has an unsupported value (null)");
    }
  }
  return out;
}

absl::StatusOr<ConfigMap> LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read config file ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (buffer.str().size() > (1u << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": config files are limited to 1 MiB"));
  }
  return ParseConfigJson(buffer.str(), path);
}

ConfigMap ResolveConfig(const v1::PluginDescription& plugin, const ConfigMap& given,
                        FieldViolations* violations) {
  ConfigMap resolved;
  std::map<std::string, const v1::ConfigKey*> declared;
  for (const v1::ConfigKey& key : plugin.config_keys()) declared[key.name()] = &key;
  for (const auto& [name, value] : given) {
    if (declared.count(name) == 0) {
      std::vector<std::string> names;
      for (const auto& [n, unused] : declared) names.push_back(n);
      violations->Add(absl::StrCat("config.", name),
                      absl::StrCat("is not a key of plugin '", plugin.name(), "' (known keys: ",
                                   names.empty() ? "none" : absl::StrJoin(names, ", "), ")"));
    }
  }
  for (const v1::ConfigKey& key : plugin.config_keys()) {
    const std::string field = absl::StrCat("config.", key.name());
    auto it = given.find(key.name());
    std::string value;
    if (it != given.end()) {
      value = it->second;
    } else if (key.has_default_value()) {
      value = key.default_value();
    } else {
      if (key.required()) violations->Add(field, "is required");
      continue;
    }
    if (value.size() > 65536) {
      violations->Add(field, "is over 64 KiB");
      continue;
    }
    if (key.type() == "int") {
      long long n;
      if (!absl::SimpleAtoi(value, &n)) {
        violations->Add(field, absl::StrCat("must be an integer, not '", key.secret() ? "***" : value, "'"));
        continue;
      }
    } else if (key.type() == "bool") {
      if (value != "true" && value != "false") {
        violations->Add(field, "must be true or false");
        continue;
      }
    } else if (key.type() == "enum") {
      bool allowed = false;
      for (const std::string& a : key.allowed_values()) allowed |= a == value;
      if (!allowed) {
        violations->Add(field, absl::StrCat("must be one of ", absl::StrJoin(key.allowed_values(), ", "),
                                            key.secret() ? "" : absl::StrCat(", not '", value, "'")));
        continue;
      }
    }
    resolved[key.name()] = value;
  }
  return resolved;
}

ConfigMap MaskSecrets(const v1::PluginDescription& plugin, const ConfigMap& config) {
  ConfigMap masked = config;
  for (const v1::ConfigKey& key : plugin.config_keys()) {
    if (key.secret() && masked.count(key.name())) masked[key.name()] = "***";
  }
  return masked;
}

}  // namespace expertise::importer
