// Precompiled for proxy_test (tests/unit/proxy/meson.build): the exchange's and
// the shard's headers pull in the filters, the streams and the upstream pool.
#include "gtest/gtest.h"
#include "proxy/exchange.h"
#include "proxy/shard_proxy.h"
