#include "filters/auth_spec.h"

#include "http/message.h"

namespace icaht::filters {
namespace {

bool PrefixContains(std::string_view prefix, std::string_view path) {
  if (path.size() < prefix.size() || path.compare(0, prefix.size(), prefix) != 0) return false;
  if (path.size() == prefix.size() || prefix.empty() || prefix.back() == '/') return true;
  return path[prefix.size()] == '/';
}

bool ListsMethod(const EndpointSpec& endpoint, std::string_view method) {
  if (endpoint.methods.empty()) return true;
  for (const std::string& m : endpoint.methods) {
    if (m == method) return true;
  }
  return false;
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

}  // namespace

const EndpointSpec* MatchEndpoint(const std::vector<EndpointSpec>& endpoints, std::string_view path,
                                  std::string_view method) {
  const EndpointSpec* best = nullptr;
  for (const EndpointSpec& endpoint : endpoints) {
    if (!PrefixContains(endpoint.path_prefix, path) || !ListsMethod(endpoint, method)) continue;
    if (best == nullptr || endpoint.path_prefix.size() > best->path_prefix.size()) {
      best = &endpoint;
    }
  }
  return best;
}

bool HasAmbiguousSegments(std::string_view path) {
  // Percent-encoded '.', '/', '\' anywhere: decoders disagree about them.
  for (size_t i = 0; i + 2 < path.size(); ++i) {
    if (path[i] != '%') continue;
    char hi = path[i + 1];
    char lo = Lower(path[i + 2]);
    if (hi == '2' && (lo == 'e' || lo == 'f')) return true;
    if (hi == '5' && lo == 'c') return true;
  }
  if (path.find('\\') != std::string_view::npos) return true;
  // Raw "." and ".." segments.
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") return true;
    start = end + 1;
  }
  return false;
}

}  // namespace icaht::filters
