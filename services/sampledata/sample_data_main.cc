// expertise-sampledata: writes synthetic specialists (invented people) as
// JSON lines, one expertise.registry.v1.Specialist per line, ready for
// `expertctl upsert`; or, with --format, as a csv, openreferral or fhir input
// file for `expertctl import`. See docs/sample-data.md.

#include <iostream>

#include <CLI/CLI.hpp>

#include "services/common/reference/reference_data.h"
#include "services/sampledata/sample_data.h"
#include "services/sampledata/sample_formats.h"

int main(int argc, char** argv) {
  namespace sampledata = expertise::sampledata;
  std::string region_arg, authority_arg, format_arg = "jsonl";
  sampledata::SampleOptions options;
  CLI::App app{"expertise-sampledata: synthetic SEND specialists (invented people) as JSON lines "
               "or importer input files"};
  app.add_option("--region", region_arg,
                 "Region: E12 code or id such as north-east (default: the --authority's region)");
  app.add_option("--authority", authority_arg,
                 "Only specialists owned by this authority (GSS code); --count of them");
  app.add_option("--count", options.count, "Number of specialists")
      ->default_val(1000)->check(CLI::Range(1, 10000000));
  app.add_option("--seed", options.seed, "Seed; the same seed gives the same data")->default_val(1);
  app.add_option("--source", options.source, "Source name written into every JSON line")
      ->default_val("sample-hr");
  app.add_option("--format", format_arg, "jsonl (expertctl upsert), or csv, openreferral or fhir "
                                         "(expertctl import --plugin NAME)")
      ->default_val("jsonl")
      ->check(CLI::IsMember({"jsonl", "csv", "openreferral", "fhir"}));
  CLI11_PARSE(app, argc, argv);

  const expertise::ReferenceData& reference = expertise::ReferenceData::Get();
  const expertise::AuthorityInfo* authority = nullptr;
  if (!authority_arg.empty()) {
    authority = reference.FindAuthority(authority_arg);
    if (!authority) {
      std::cerr << "expertise-sampledata: unknown authority '" << authority_arg
                << "': use an ONS GSS code such as E08000001\n";
      return 2;
    }
    // Every authority's records are drawn from its region's sequence, so
    // asking for many makes the generator hold tens of times as many.
    if (options.count > 10000) {
      std::cerr << "expertise-sampledata: --count is at most 10000 with --authority\n";
      return 2;
    }
    if (region_arg.empty()) region_arg = authority->region_code;
  }
  if (region_arg.empty()) {
    std::cerr << "expertise-sampledata: give --region (or --authority)\n";
    return 2;
  }
  const expertise::RegionInfo* region = reference.FindRegion(region_arg);
  if (!region) {
    std::cerr << "expertise-sampledata: unknown region '" << region_arg
              << "': use E12000001 to E12000009 or an id such as north-east\n";
    return 2;
  }

  std::vector<expertise::registry::v1::Specialist> specialists;
  if (authority) {
    auto selected = sampledata::GenerateAuthoritySpecialists(*region, authority->code, options);
    if (!selected.ok()) {
      std::cerr << "expertise-sampledata: " << selected.status().message() << "\n";
      return 2;
    }
    specialists = *std::move(selected);
  } else {
    specialists = sampledata::GenerateSpecialists(*region, options);
  }
  const absl::Status written =
      sampledata::WriteSamples(*sampledata::ParseSampleFormat(format_arg), specialists, std::cout);
  if (!written.ok()) {
    std::cerr << "expertise-sampledata: " << written.message() << "\n";
    return 1;
  }
  return 0;
}
