#pragma once
// Lua middleware on a service's chain (`lua` in the service record; the
// script's API is in filters/lua_script.h). Runs after native plugins on the
// request phase, before them on the response phase.
//
// One script state per service config per shard, made with the chain. The
// script file is looked at (stat) at most once a second per shard, from the
// request phase; when its mtime, size or inode changed it is loaded into a
// new state which replaces the old one (icaht.shared starts empty again). A
// changed script that fails to load is logged and the old one kept.
//
// A script error, a refused edit or the instruction limit in on_request
// answers 500 (on_response: the status becomes 500; on_log: nothing more)
// and logs the error with the script's line, at most one line per second
// per shard. The shard never goes down for a script.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "filters/filter.h"
#include "filters/lua_script.h"

namespace icaht::filters {

struct LuaSpec {
  std::string file;  // absolute path
  std::string config_json = "{}";

  friend bool operator==(const LuaSpec&, const LuaSpec&) = default;
};

class LuaFilter final : public Filter {
 public:
  static constexpr int64_t kCheckIntervalNs = 1'000'000'000;

  // Loads the script; a script that does not load (the record's check
  // passed, then the file changed) leaves the filter answering 500 until a
  // good version appears.
  LuaFilter(LuaSpec spec, std::string_view service, uint32_t shard_index);

  std::string_view name() const override { return "lua"; }
  Verdict OnRequestHead(RequestContext& ctx, FilterCallbacks& callbacks) override;
  void OnResponseHead(RequestContext& ctx) override;
  void OnLog(const RequestContext& ctx) override;

  uint64_t reloads() const { return reloads_; }
  uint64_t failures() const { return failures_; }
  bool loaded() const { return script_ != nullptr; }

 private:
  struct FileStamp {
    int64_t mtime_ns = -1;
    int64_t size = -1;
    uint64_t inode = 0;
    friend bool operator==(const FileStamp&, const FileStamp&) = default;
  };
  static FileStamp Stamp(const std::string& file);
  void Load(const FileStamp& stamp);
  void MaybeReload();
  void LogFailure(std::string_view phase, std::string_view error);

  LuaSpec spec_;
  std::string service_;
  uint32_t shard_index_;
  std::unique_ptr<LuaScript> script_;
  FileStamp stamp_;
  int64_t next_check_ns_ = 0;
  uint64_t reloads_ = 0;
  uint64_t failures_ = 0;
};

}  // namespace icaht::filters
