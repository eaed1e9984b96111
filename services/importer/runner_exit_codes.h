#ifndef EXPERTISE_SERVICES_IMPORTER_RUNNER_EXIT_CODES_H_
#define EXPERTISE_SERVICES_IMPORTER_RUNNER_EXIT_CODES_H_

// Exit codes of expertise-plugin-runner that the host turns into causes.
namespace expertise::importer {
inline constexpr int kRunnerExitInternalError = 70;  // EX_SOFTWARE
inline constexpr int kRunnerExitLoadFailed = 78;     // EX_CONFIG: the plugin was refused
inline constexpr int kRunnerExitMemoryLimit = 86;    // RSS watchdog fired
}  // namespace expertise::importer

#endif  // EXPERTISE_SERVICES_IMPORTER_RUNNER_EXIT_CODES_H_
