#pragma once
// Parsing a service record that sits inside a larger JSON document (the
// daemon config's "services" array). Kept apart from service_record.h so that
// users of the record type do not pull in simdjson.

#include <string_view>

#include "absl/status/statusor.h"
#include "registry/service_record.h"
#include "simdjson.h"

namespace icaht::registry {

// Parses and validates the record at `value` with the rules of
// ParseServiceRecord. `field_prefix` is prepended to every field path in
// errors: with "services[2]." a missing name reads "field 'services[2].name':
// required". Pass "" for a record that is the whole document. `value` is
// consumed completely on success; on error the enclosing document must be
// abandoned (On Demand cannot resume after an error). Syntax errors are
// marked with json::SyntaxError so that json::ParseObjectDocument can add the
// byte position.
absl::StatusOr<ServiceRecord> ParseServiceRecordValue(simdjson::ondemand::value value,
                                                      std::string_view field_prefix);

}  // namespace icaht::registry
