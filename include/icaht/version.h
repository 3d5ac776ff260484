#pragma once
// Public version of the icaht-sidecar API and ABI (what a plugin or an
// embedder compiles against). Bumped on any incompatible change.

#define ICAHT_VERSION_MAJOR 0
#define ICAHT_VERSION_MINOR 1
#define ICAHT_VERSION_PATCH 0
