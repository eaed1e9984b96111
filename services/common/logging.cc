#include "services/common/logging.h"

#include <atomic>
#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>

namespace expertise {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};
std::atomic<spdlog::level::level_enum> g_level{spdlog::level::info};

constexpr char kTextPattern[] = "%Y-%m-%dT%H:%M:%S.%fZ %l %n: %v";
constexpr char kJsonPattern[] =
    R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n",%v})";

void Configure(spdlog::logger& logger) {
  logger.set_level(g_level.load());
  logger.set_pattern(g_format.load() == LogFormat::kJson ? kJsonPattern : kTextPattern,
                     spdlog::pattern_time_type::utc);
}

bool NeedsQuoting(std::string_view s) {
  if (s.empty()) return true;
  for (char c : s) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

}  // namespace

absl::Status ParseLogFormat(std::string_view text, LogFormat* format) {
  if (text == "text") {
    *format = LogFormat::kText;
  } else if (text == "json") {
    *format = LogFormat::kJson;
  } else {
    return absl::InvalidArgumentError("log format must be 'text' or 'json'");
  }
  return absl::OkStatus();
}

void InitLogging(LogFormat format, spdlog::level::level_enum level) {
  g_format = format;
  g_level = level;
  spdlog::apply_all([](std::shared_ptr<spdlog::logger> logger) { Configure(*logger); });
}

std::shared_ptr<spdlog::logger> GetLogger(const std::string& component) {
  static std::mutex* const mu = new std::mutex();
  std::lock_guard<std::mutex> lock(*mu);
  if (auto existing = spdlog::get(component)) return existing;
  auto logger = spdlog::stderr_logger_mt(component);
  Configure(*logger);
  return logger;
}

void LogEvent(spdlog::logger& logger, spdlog::level::level_enum level, std::string_view event,
              std::initializer_list<LogField> fields) {
  if (!logger.should_log(level)) return;
  std::string line;
  if (g_format.load() == LogFormat::kJson) {
    line = "\"event\":" + nlohmann::json(event).dump();
    for (const auto& [key, value] : fields) {
      line += ',' + nlohmann::json(key).dump() + ':' +
              value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  } else {
    line = std::string(event);
    for (const auto& [key, value] : fields) {
      line += ' ';
      line += key;
      line += '=';
      if (value.is_string()) {
        const auto& s = value.get_ref<const std::string&>();
        line += NeedsQuoting(s) ? nlohmann::json(s).dump(-1, ' ', false,
                                                         nlohmann::json::error_handler_t::replace)
                                : s;
      } else {
        line += value.dump();
      }
    }
  }
  logger.log(level, "{}", line);
}

}  // namespace expertise
