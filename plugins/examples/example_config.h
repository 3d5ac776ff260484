/* A deliberately small reader for the flat JSON objects the example plugins
 * take as config ({"key": "...", "delay_ms": 5}): string and integer members
 * at the top level, escapes \" \\ \n \t only. A real plugin would use a
 * JSON library; the examples stay dependency-free so that they build with a
 * plain cc command (docs/plugins.md). */
#ifndef ICAHT_EXAMPLE_CONFIG_H_
#define ICAHT_EXAMPLE_CONFIG_H_

#include <stdlib.h>
#include <string.h>

/* Where the value of top-level member `name` starts, or NULL. */
static const char* example_find(const char* json, size_t len, const char* name) {
  size_t name_len = strlen(name);
  int depth = 0;
  for (size_t i = 0; i < len; ++i) {
    char c = json[i];
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') --depth;
    if (c != '"') continue;
    size_t start = i + 1, end = start;
    while (end < len && json[end] != '"') end += json[end] == '\\' ? 2 : 1;
    int is_key = 0;
    size_t j = end + 1;
    while (j < len && (json[j] == ' ' || json[j] == '\n' || json[j] == '\t')) ++j;
    if (j < len && json[j] == ':') is_key = 1;
    if (is_key && depth == 1 && end - start == name_len &&
        memcmp(json + start, name, name_len) == 0) {
      ++j;
      while (j < len && (json[j] == ' ' || json[j] == '\n' || json[j] == '\t')) ++j;
      return j < len ? json + j : NULL;
    }
    i = end;
  }
  return NULL;
}

/* A malloc'ed copy of string member `name`, or NULL when absent or not a
 * string. */
static char* example_string(const char* json, size_t len, const char* name) {
  const char* v = example_find(json, len, name);
  if (v == NULL || *v != '"') return NULL;
  const char* end = json + len;
  char* out = malloc((size_t)(end - v));
  size_t n = 0;
  for (const char* p = v + 1; p < end && *p != '"'; ++p) {
    if (*p == '\\' && p + 1 < end) {
      ++p;
      out[n++] = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
      continue;
    }
    out[n++] = *p;
  }
  out[n] = '\0';
  return out;
}

/* Integer member `name`, or `otherwise` when absent. */
static long example_int(const char* json, size_t len, const char* name, long otherwise) {
  const char* v = example_find(json, len, name);
  if (v == NULL || !((*v >= '0' && *v <= '9') || *v == '-')) return otherwise;
  return strtol(v, NULL, 10);
}

#endif /* ICAHT_EXAMPLE_CONFIG_H_ */
