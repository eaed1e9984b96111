// Config files and the host's checks against a plugin's declared keys.

#include "services/importer/plugin_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace expertise::importer {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

v1::PluginDescription Plugin() {
  v1::PluginDescription d;
  d.set_name("demo");
  auto add = [&](const char* name, const char* type, bool required, const char* def = nullptr) {
    v1::ConfigKey* k = d.add_config_keys();
    k->set_name(name);
    k->set_type(type);
    k->set_required(required);
    if (def) k->set_default_value(def);
    k->set_description("d");
    return k;
  };
  add("path", "string", true);
  add("limit", "int", false, "10");
  add("strict", "bool", false);
  v1::ConfigKey* mode = add("mode", "enum", false, "a");
  mode->add_allowed_values("a");
  mode->add_allowed_values("b");
  add("token", "string", false)->set_secret(true);
  return d;
}

std::vector<std::string> Fields(const FieldViolations& v) {
  std::vector<std::string> out;
  for (const auto& f : v.violations()) out.push_back(f.field());
  return out;
}

TEST(PluginConfigTest, JsonValuesBecomeStrings) {
  auto config = ParseConfigJson(R"({"a":"x","b":3,"c":true,"d":["p","q"],"e":{"k":"v","l":"w"},"f":1.5})", "t");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(*config, ElementsAre(Pair("a", "x"), Pair("b", "3"), Pair("c", "true"), Pair("d", "p,q"),
                                   Pair("e", "k=v,l=w"), Pair("f", "1.5")));
}

TEST(PluginConfigTest, MalformedFilesNameTheProblem) {
  EXPECT_FALSE(ParseConfigJson("[1]", "t").ok());
  EXPECT_FALSE(ParseConfigJson("{", "t").ok());
  auto bad = ParseConfigJson(R"({"d":[1]})", "t");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), ::testing::HasSubstr("'d'"));
  EXPECT_FALSE(LoadConfigFile("/nonexistent/config.json").ok());
}

TEST(PluginConfigTest, DefaultsAreFilledAndValidConfigPasses) {
  FieldViolations v;
  ConfigMap resolved = ResolveConfig(Plugin(), {{"path", "/x"}, {"strict", "true"}}, &v);
  EXPECT_TRUE(v.empty());
  EXPECT_THAT(resolved, ElementsAre(Pair("limit", "10"), Pair("mode", "a"), Pair("path", "/x"), Pair("strict", "true")));
}

TEST(PluginConfigTest, EveryBadKeyIsNamed) {
  FieldViolations v;
  ResolveConfig(Plugin(), {{"limit", "ten"}, {"strict", "yes"}, {"mode", "c"}, {"typo_key", "1"}}, &v);
  EXPECT_THAT(Fields(v), ::testing::UnorderedElementsAre("config.typo_key", "config.path", "config.limit",
                                                         "config.strict", "config.mode"));
}

TEST(PluginConfigTest, SecretsAreMaskedAndNeverEchoed) {
  ConfigMap masked = MaskSecrets(Plugin(), {{"token", "hunter2"}, {"path", "/x"}});
  EXPECT_EQ(masked["token"], "***");
  EXPECT_EQ(masked["path"], "/x");
}

}  // namespace
}  // namespace expertise::importer
