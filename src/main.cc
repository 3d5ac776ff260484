// icaht-sidecar: per-service enriched HTTP proxies behind one admin socket.

#include <cstdio>

#include "admin/control.h"
#include "config/daemon_config.h"
#include "core/log.h"
#include "core/ring.h"

int main(int argc, char** argv) {
  using namespace icaht;
  absl::StatusOr<config::DaemonConfig> config = config::LoadDaemonConfig(argc, argv);
  if (!config.ok()) {
    std::fprintf(stderr, "icaht-sidecar: %s\n", std::string(config.status().message()).c_str());
    std::fprintf(stderr, "(see icaht-sidecar --help)\n");
    return 2;
  }
  if (config->show_help) {
    std::fputs(config::UsageText().c_str(), stdout);
    return 0;
  }
  if (config->show_version) {
    std::puts(config::VersionText().c_str());
    return 0;
  }
  if (config->check_config) {
    std::printf("configuration OK: %zu static services\n", config->services.size());
    return 0;
  }
  core::SetLogLevel(static_cast<core::LogLevel>(static_cast<int>(config->log_level)));
  core::SetLogJson(config->log_json);

  admin::Control control(std::move(*config));
  absl::Status status = control.Start();
  if (!status.ok()) {
    std::fprintf(stderr, "icaht-sidecar: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  control.Run();
  core::Log(core::LogLevel::kInfo, "stopped");
  return 0;
}
