// Precompiled for filters_test (tests/unit/filters/meson.build): the chain's
// headers (request context, filter interface, absl) and GoogleTest.
#include "filters/filter_chain.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
