// Precompiled for every file of the proxy library (src/proxy/meson.build):
// the shard's and the exchange's headers, which pull in the filters, the
// streams and the upstream pool, and which each file parsed again.
#include "proxy/exchange.h"
#include "proxy/shard_proxy.h"
