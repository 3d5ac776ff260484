// Precompiled for every file of the filters library (src/filters/meson.build):
// the chain's headers (request context, filter interface, absl) that each
// file parsed again.
#include "filters/filter_chain.h"
