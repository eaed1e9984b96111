#include <fstream>
#include <iostream>

#include "google/protobuf/util/json_util.h"
#include "clients/expertctl/commands/commands.h"

namespace expertise::expertctl {
namespace {

struct UpsertOptions {
  std::string file;
  std::string region = "-";
  int batch_size = 500;
};

int RunUpsert(const UpsertOptions& o, const Context& ctx) {
  std::ifstream file_stream;
  std::istream* in = &std::cin;
  if (o.file != "-") {
    file_stream.open(o.file);
    if (!file_stream) {
      *ctx.err << "expertctl: upsert: cannot open " << o.file << "\n";
      return kExitUsage;
    }
    in = &file_stream;
  }
  // Parse everything first, so a malformed line stops the run before any write.
  std::vector<registry::v1::Specialist> records;
  std::string line;
  int line_number = 0;
  while (std::getline(*in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    registry::v1::Specialist s;
    auto status = google::protobuf::util::JsonStringToMessage(line, &s);
    if (!status.ok()) {
      *ctx.err << "expertctl: upsert: " << o.file << " line " << line_number << ": "
               << status.message() << "\n";
      return kExitUsage;
    }
    records.push_back(std::move(s));
  }
  auto stub = ctx.RegistryStub();
  int created = 0, updated = 0, unchanged = 0;
  for (size_t start = 0; start < records.size(); start += o.batch_size) {
    registry::v1::BatchUpsertSpecialistsRequest request;
    request.set_parent("regions/" + o.region);
    for (size_t i = start; i < records.size() && i < start + o.batch_size; ++i) {
      *request.add_specialists() = records[i];
    }
    grpc::ClientContext call;
    ctx.Prepare(&call);
    registry::v1::BatchUpsertSpecialistsResponse response;
    grpc::Status status = stub->BatchUpsertSpecialists(&call, request, &response);
    if (!status.ok()) {
      *ctx.err << "expertctl: upsert: records " << start + 1 << " to "
               << start + request.specialists_size() << " were not written (" << created + updated
               << " earlier records were; re-running is safe)\n";
      return ctx.Fail("upsert", status);
    }
    created += response.created_count();
    updated += response.updated_count();
    unchanged += response.unchanged_count();
  }
  *ctx.out << "created " << created << ", updated " << updated << ", unchanged " << unchanged
           << "\n";
  return kExitOk;
}

}  // namespace

void SetupUpsert(CLI::App& app, const Context& ctx, int* exit_code) {
  auto options = std::make_shared<UpsertOptions>();
  CLI::App* cmd = app.add_subcommand(
      "upsert", "Create or update specialists from JSON lines, matched on "
                "(owning_authority, source, external_id); safe to repeat");
  cmd->add_option("--file,-f", options->file, "JSON lines file, or - for standard input")
      ->required();
  cmd->add_option("--region", options->region, "Region id; default '-' (the server's)");
  cmd->add_option("--batch-size", options->batch_size, "Records per atomic batch")
      ->default_val(500)->check(CLI::Range(1, 1000));
  cmd->callback([options, &ctx, exit_code] { *exit_code = RunUpsert(*options, ctx); });
}

}  // namespace expertise::expertctl
