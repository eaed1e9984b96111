#include "services/importer/plugin_loader.h"

#include <dlfcn.h>

#include <cstring>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace expertise::importer {
namespace {

// Sizes of the structs in ABI 1.0: a plugin may have bigger ones (newer
// minor, refused earlier) but never smaller.
constexpr size_t kInfoSizeV1_0 = sizeof(expertise_plugin_info);
constexpr size_t kOpsSizeV1_0 = sizeof(expertise_plugin_ops);
constexpr size_t kSpecSizeV1_0 = sizeof(expertise_plugin_spec);

bool SafeString(const char* s, size_t max_len) {
  return s != nullptr && ::strnlen(s, max_len + 1) <= max_len;
}

// [a-z][a-z0-9_]{0,max_len-1}: a plugin or config key name. `s` is a
// SafeString of at most max_len bytes.
bool IsLowerSnakeName(const char* s, size_t max_len) {
  const std::string_view name(s);
  if (name.empty() || name.size() > max_len || name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

const char* ConfigTypeName(uint32_t type) {
  switch (type) {
    case EXPERTISE_CONFIG_STRING: return "string";
    case EXPERTISE_CONFIG_INT: return "int";
    case EXPERTISE_CONFIG_BOOL: return "bool";
    case EXPERTISE_CONFIG_ENUM: return "enum";
    case EXPERTISE_CONFIG_LIST: return "list";
    default: return "";
  }
}

absl::Status ValidateInfo(const expertise_plugin_info* info, const std::string& path) {
  if (info == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", EXPERTISE_IMPORTER_ENTRY_NAME,
                                                   "() returned no info block"));
  }
  if (info->magic != EXPERTISE_IMPORTER_MAGIC) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": info block has magic 0x", absl::Hex(info->magic), ", expected 0x",
        absl::Hex(EXPERTISE_IMPORTER_MAGIC), ": not an expertise importer plugin"));
  }
  if (info->abi_major != EXPERTISE_IMPORTER_ABI_MAJOR || info->abi_minor > EXPERTISE_IMPORTER_ABI_MINOR) {
    const std::string who = SafeString(info->name, 64) ? absl::StrCat("plugin '", info->name, "'")
                                                        : std::string("the plugin");
    const std::string needs = absl::StrCat(who, " needs plugin ABI ", info->abi_major, ".",
                                           info->abi_minor, "; this host provides ",
                                           EXPERTISE_IMPORTER_ABI_MAJOR, ".0-",
                                           EXPERTISE_IMPORTER_ABI_MAJOR, ".",
                                           EXPERTISE_IMPORTER_ABI_MINOR);
    if (info->abi_major > EXPERTISE_IMPORTER_ABI_MAJOR ||
        (info->abi_major == EXPERTISE_IMPORTER_ABI_MAJOR && info->abi_minor > EXPERTISE_IMPORTER_ABI_MINOR)) {
      return absl::FailedPreconditionError(absl::StrCat(
          needs, ". Upgrade expertise-importer to a release with that ABI, or rebuild the plugin "
          "against importer SDK ", EXPERTISE_IMPORTER_ABI_MAJOR, ".", EXPERTISE_IMPORTER_ABI_MINOR, "."));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        needs, ". Rebuild the plugin against importer SDK ", EXPERTISE_IMPORTER_ABI_MAJOR, ".",
        EXPERTISE_IMPORTER_ABI_MINOR, "."));
  }
  if (info->struct_size < kInfoSizeV1_0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": info block is ", info->struct_size,
                                                   " bytes, ABI 1.0 needs at least ", kInfoSizeV1_0));
  }
  if (!SafeString(info->name, 32) || !IsLowerSnakeName(info->name, 32)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": plugin name must match [a-z][a-z0-9_]{0,31}"));
  }
  if (!SafeString(info->version, 64) || info->version[0] == '\0') {
    return absl::InvalidArgumentError(absl::StrCat(path, ": plugin version is missing"));
  }
  if (!SafeString(info->description, 1024)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": plugin description is missing or over 1024 bytes"));
  }
  if (info->n_config_keys > 256 || (info->n_config_keys > 0 && info->config_keys == nullptr)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": config key table is malformed"));
  }
  for (size_t i = 0; i < info->n_config_keys; ++i) {
    const expertise_config_key& key = info->config_keys[i];
    const std::string where = absl::StrCat(path, ": config key #", i);
    if (!SafeString(key.name, 64) || !IsLowerSnakeName(key.name, 64)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": name must be lower_snake_case"));
    }
    if (ConfigTypeName(key.type)[0] == '\0') {
      return absl::InvalidArgumentError(absl::StrCat(where, " (", key.name, "): unknown type ", key.type));
    }
    if (key.type == EXPERTISE_CONFIG_ENUM && !SafeString(key.allowed_values, 4096)) {
      return absl::InvalidArgumentError(absl::StrCat(where, " (", key.name, "): enum without allowed values"));
    }
    if (key.default_value != nullptr && !SafeString(key.default_value, 4096)) {
      return absl::InvalidArgumentError(absl::StrCat(where, " (", key.name, "): default too long"));
    }
    if (!SafeString(key.description, 1024) || key.description[0] == '\0') {
      return absl::InvalidArgumentError(absl::StrCat(where, " (", key.name, "): description is missing"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (std::strcmp(info->config_keys[j].name, key.name) == 0) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": '", key.name, "' is declared twice"));
      }
    }
  }
  const expertise_plugin_ops* ops = info->ops;
  if (ops == nullptr || ops->struct_size < kOpsSizeV1_0 || !ops->spec || !ops->check || !ops->read ||
      !ops->cancel || !ops->close) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": operations table is missing or incomplete"));
  }
  return absl::OkStatus();
}

absl::StatusOr<LoadedPlugin> LoadPlugin(const std::string& path) {
  LoadedPlugin plugin;
  plugin.path = path;
  ::dlerror();
  plugin.handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (plugin.handle == nullptr) {
    const char* error = ::dlerror();
    return absl::FailedPreconditionError(absl::StrCat("cannot load ", path, ": ", error ? error : "unknown error"));
  }
  void* entry = ::dlsym(plugin.handle, EXPERTISE_IMPORTER_ENTRY_NAME);
  if (entry == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is not an importer plugin: it does not export ", EXPERTISE_IMPORTER_ENTRY_NAME,
        " (build it with expertise_importer_plugin() from the importer SDK)"));
  }
  plugin.info = reinterpret_cast<expertise_importer_entry_fn>(entry)();
  if (auto status = ValidateInfo(plugin.info, path); !status.ok()) return status;
  plugin.spec = plugin.info->ops->spec();
  if (plugin.spec == nullptr || plugin.spec->struct_size < kSpecSizeV1_0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": spec() returned no or a short spec"));
  }
  if (plugin.spec->record_format_major != EXPERTISE_RECORD_FORMAT_MAJOR ||
      plugin.spec->record_format_minor > EXPERTISE_RECORD_FORMAT_MINOR) {
    return absl::FailedPreconditionError(absl::StrCat(
        "plugin '", plugin.info->name, "' emits record format ", plugin.spec->record_format_major, ".",
        plugin.spec->record_format_minor, "; this host reads ", EXPERTISE_RECORD_FORMAT_MAJOR, ".0-",
        EXPERTISE_RECORD_FORMAT_MAJOR, ".", EXPERTISE_RECORD_FORMAT_MINOR,
        ". Upgrade expertise-importer or rebuild the plugin against a matching SDK."));
  }
  if ((plugin.spec->sync_modes & (EXPERTISE_SYNC_SNAPSHOT | EXPERTISE_SYNC_INCREMENTAL)) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": spec declares no sync mode"));
  }
  return plugin;
}

v1::PluginDescription Describe(const LoadedPlugin& plugin) {
  v1::PluginDescription d;
  const expertise_plugin_info* info = plugin.info;
  d.set_name(info->name);
  d.set_version(info->version);
  d.set_description(info->description);
  d.set_abi_major(info->abi_major);
  d.set_abi_minor(info->abi_minor);
  if (plugin.spec != nullptr) {
    d.set_record_format_major(plugin.spec->record_format_major);
    d.set_record_format_minor(plugin.spec->record_format_minor);
    d.set_sync_modes(plugin.spec->sync_modes);
    if (plugin.spec->input_media_types) d.set_input_media_types(plugin.spec->input_media_types);
  }
  for (size_t i = 0; i < info->n_config_keys; ++i) {
    const expertise_config_key& key = info->config_keys[i];
    v1::ConfigKey* out = d.add_config_keys();
    out->set_name(key.name);
    out->set_type(ConfigTypeName(key.type));
    out->set_required(key.required != 0);
    if (key.default_value) out->set_default_value(key.default_value);
    if (key.type == EXPERTISE_CONFIG_ENUM && key.allowed_values) {
      for (absl::string_view v : absl::StrSplit(key.allowed_values, '|', absl::SkipEmpty())) {
        out->add_allowed_values(std::string(v));
      }
    }
    out->set_secret(key.secret != 0);
    out->set_description(key.description);
  }
  return d;
}

}  // namespace expertise::importer
