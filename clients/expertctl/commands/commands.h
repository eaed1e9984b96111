#ifndef EXPERTISE_CLIENTS_EXPERTCTL_COMMANDS_COMMANDS_H_
#define EXPERTISE_CLIENTS_EXPERTCTL_COMMANDS_COMMANDS_H_

// Each verb lives in its own file: an options struct, Setup<Verb>() to
// register it with CLI11 and Run<Verb>() to run it (callable from tests).
// Setup functions store the verb's exit code in *exit_code when it runs.

#include <CLI/CLI.hpp>

#include "clients/expertctl/common.h"

namespace expertise::expertctl {

void SetupSearch(CLI::App& app, const Context& ctx, int* exit_code);
void SetupGet(CLI::App& app, const Context& ctx, int* exit_code);
void SetupCapacity(CLI::App& app, const Context& ctx, int* exit_code);
void SetupTaxonomy(CLI::App& app, const Context& ctx, int* exit_code);
void SetupAuthorities(CLI::App& app, const Context& ctx, int* exit_code);
void SetupRegions(CLI::App& app, const Context& ctx, int* exit_code);
void SetupUpsert(CLI::App& app, const Context& ctx, int* exit_code);

// Parses "YYYY-MM-DD" into a google.type.Date; false if malformed.
bool ParseDate(const std::string& text, google::type::Date* date);

// Returns the authority's name for a GSS code, or the code if unknown.
std::string AuthorityName(const std::string& code);

}  // namespace expertise::expertctl

#endif  // EXPERTISE_CLIENTS_EXPERTCTL_COMMANDS_COMMANDS_H_
