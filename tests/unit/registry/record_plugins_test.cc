// The record's `plugins` and `lua` fields (registry/record_plugins.h,
// registry/record_lua.h): configs kept as their JSON text, the canonical form
// round-trips and leaves them out when unset, errors name the field. Loading
// (--plugin-dir, dlopen, the script) is the control thread's and is tested
// end to end.

#include <string>

#include "gtest/gtest.h"
#include "record_test_util.h"
#include "registry/service_record.h"

namespace icaht::registry {
namespace record_plugins_test {

TEST(RecordPluginsTest, RoundTripAndErrors) {
  absl::StatusOr<ServiceRecord> r = ParseServiceRecord(
      With(R"json(,"plugins":[{"path":"/p/a.so","config":{"key": "k", "n": [1, {"x": null}]}},)json"
           R"json({"path":"/p/b.so"},{"path":"/p/c.so","config":null}])json"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->plugins.size(), 3u);
  EXPECT_EQ(r->plugins[0].config_json, R"({"key": "k", "n": [1, {"x": null}]})");
  EXPECT_EQ(r->plugins[1].config_json, "{}");
  EXPECT_EQ(r->plugins[2].config_json, "{}");
  ExpectRoundTrip(*r);
  // No plugins: the canonical form has no "plugins" member.
  absl::StatusOr<ServiceRecord> none = ParseServiceRecord(With(R"(,"plugins":[])"));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(ToJson(*none).find("plugins"), std::string::npos);
  EXPECT_EQ(
      ErrorOf(With(R"(,"plugins":[{"path":"/a"},{"path":"/a"},{"path":"/a"},{"path":"/a"},)"
                   R"({"path":"/a"},{"path":"/a"},{"path":"/a"},{"path":"/a"},{"path":"/a"}])")),
      "field 'plugins': must have at most 8 entries");
}

TEST(RecordLuaTest, RoundTripAndErrors) {
  absl::StatusOr<ServiceRecord> r =
      ParseServiceRecord(With(R"(,"lua":{"file":"/etc/a.lua","config":{"keys": {"k": "v"}}})"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->lua.has_value());
  EXPECT_EQ(r->lua->file, "/etc/a.lua");
  EXPECT_EQ(r->lua->config_json, R"({"keys": {"k": "v"}})");
  ExpectRoundTrip(*r);
  r = ParseServiceRecord(With(R"(,"lua":null)"));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->lua.has_value());
  EXPECT_EQ(ToJson(*r).find("lua"), std::string::npos);
  EXPECT_EQ(ErrorOf(With(R"(,"lua":{})")), "field 'lua.file': required");
  EXPECT_EQ(ErrorOf(With(R"(,"lua":{"file":"a.lua"})")),
            "field 'lua.file': must be an absolute path");
  EXPECT_EQ(ErrorOf(With(R"(,"lua":{"file":"/a.lua","config":"x"})")),
            "field 'lua.config': must be an object");
  EXPECT_EQ(ErrorOf(With(R"(,"lua":{"file":"/a.lua","other":1})")), "unknown field 'lua.other'");
}

}  // namespace record_plugins_test
}  // namespace icaht::registry
