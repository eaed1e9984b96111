#ifndef EXPERTISE_SERVICES_COMMON_LOGGING_H_
#define EXPERTISE_SERVICES_COMMON_LOGGING_H_

// Structured logging on spdlog: every line is an event name plus key/value
// fields, printed as `event key=value ...` or as one JSON object per line.
// Personal data (names, contact details) never goes into fields logged at
// info level or above.

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "absl/status/status.h"

namespace expertise {

enum class LogFormat { kText, kJson };

// Parses "text" or "json".
absl::Status ParseLogFormat(std::string_view text, LogFormat* format);

// Configures the default sink (stderr) once per process; later loggers share it.
void InitLogging(LogFormat format, spdlog::level::level_enum level);

// Returns the named component logger, creating it on first use. Thread-safe.
std::shared_ptr<spdlog::logger> GetLogger(const std::string& component);

using LogField = std::pair<std::string_view, nlohmann::json>;

// Logs `event` with `fields` at `level` in the configured format.
void LogEvent(spdlog::logger& logger, spdlog::level::level_enum level, std::string_view event,
              std::initializer_list<LogField> fields = {});

}  // namespace expertise

#endif  // EXPERTISE_SERVICES_COMMON_LOGGING_H_
