// Precompiled for registry_test (tests/unit/registry/meson.build): the record
// headers pull in simdjson's 30,000-line header, parsed again by every file.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "registry/json_reader.h"
#include "registry/service_record.h"
