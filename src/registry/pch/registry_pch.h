// Precompiled for every file of the registry library (src/registry/meson.build):
// the record's parts all read JSON through simdjson, whose single header
// (30,000 lines) was most of each file's compile time.
#include "registry/json_reader.h"
#include "registry/service_record.h"
