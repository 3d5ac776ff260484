// Precompiled for the unit-test executables whose files share little more
// than GoogleTest and GoogleMock (tests/unit/*/meson.build): gmock.h alone is
// most of a small test file's compile time.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
