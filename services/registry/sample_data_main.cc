// expertise-sampledata: writes synthetic specialists as JSON lines, one
// expertise.registry.v1.Specialist per line, ready for `expertctl upsert`.

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <google/protobuf/util/json_util.h>

#include "services/common/reference/reference_data.h"
#include "services/registry/sample_data.h"

int main(int argc, char** argv) {
  std::string region_arg;
  expertise::registry::SampleOptions options;
  CLI::App app{"expertise-sampledata: synthetic SEND specialists (invented people) as JSON lines"};
  app.add_option("--region", region_arg, "Region: E12 code or id such as north-east")->required();
  app.add_option("--count", options.count, "Number of specialists")
      ->default_val(1000)->check(CLI::Range(1, 10000000));
  app.add_option("--seed", options.seed, "Seed; the same seed gives the same data")->default_val(1);
  app.add_option("--source", options.source, "Source name written into every record")
      ->default_val("sample-hr");
  CLI11_PARSE(app, argc, argv);

  const expertise::RegionInfo* region = expertise::ReferenceData::Get().FindRegion(region_arg);
  if (!region) {
    std::cerr << "expertise-sampledata: unknown region '" << region_arg
              << "': use E12000001 to E12000009 or an id such as north-east\n";
    return 2;
  }
  google::protobuf::util::JsonPrintOptions json;
  json.preserve_proto_field_names = true;
  std::string line;
  for (const auto& s : expertise::registry::GenerateSpecialists(*region, options)) {
    line.clear();
    if (!google::protobuf::util::MessageToJsonString(s, &line, json).ok()) return 1;
    std::cout << line << '\n';
  }
  return std::cout.flush() ? 0 : 1;
}
