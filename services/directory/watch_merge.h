#ifndef EXPERTISE_SERVICES_DIRECTORY_WATCH_MERGE_H_
#define EXPERTISE_SERVICES_DIRECTORY_WATCH_MERGE_H_

// Resume tokens of a merged capacity watch: one token per region, carried
// together so a client resumes every region where it left off.

#include <map>
#include <string>

namespace expertise::directory {

// Region id -> that region's resume token, as one opaque string ("d1.").
std::string EncodeMergedToken(const std::map<std::string, std::string>& tokens);
// The per-region tokens; empty for anything that is not a merged token (the
// regions then start with a snapshot, as the registries do for bad tokens).
std::map<std::string, std::string> DecodeMergedToken(const std::string& token);

}  // namespace expertise::directory

#endif  // EXPERTISE_SERVICES_DIRECTORY_WATCH_MERGE_H_
