#pragma once
// CHECK: an impossible state stops the process loudly (STYLE.md: bad input is
// answered, broken invariants crash). Not for anything a peer or user controls.

#include <cstdio>
#include <cstdlib>

#define ICAHT_CHECK(cond)                                                             \
  do {                                                                                \
    if (__builtin_expect(!(cond), 0)) {                                               \
      std::fprintf(stderr, "CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)
