// Precompiled for every file of the admin library (src/admin/meson.build):
// the control thread's header pulls in most of the daemon's headers
// (registry records and simdjson, the proxy's configs, filters), and parsing
// them was most of each file's compile time.
#include "admin/control.h"
