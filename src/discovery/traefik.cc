#include "discovery/traefik.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <list>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/json_string.h"

namespace icaht::discovery {
namespace {

// The configuration as a small tree, emitted as JSON or YAML.
struct Node {
  enum class Kind { kMap, kList, kString, kInt };
  Kind kind = Kind::kMap;
  // Lists: Add() hands out references that later additions must not move (and
  // std::list, like std::vector but unlike std::deque, may hold the incomplete Node).
  std::list<std::pair<std::string, Node>> fields;  // kMap, in insertion order
  std::list<Node> items;                           // kList
  std::string text;                                // kString
  int64_t number = 0;                              // kInt

  static Node Map() { return Node{}; }
  static Node List() { return Node{.kind = Kind::kList}; }
  static Node String(std::string_view s) {
    return Node{.kind = Kind::kString, .text = std::string(s)};
  }
  static Node Int(int64_t n) { return Node{.kind = Kind::kInt, .number = n}; }
  Node& Add(std::string key, Node value) {
    fields.emplace_back(std::move(key), std::move(value));
    return fields.back().second;
  }
  static Node Strings(const std::vector<std::string>& values) {
    Node list = List();
    for (const std::string& v : values) list.items.push_back(String(v));
    return list;
  }
};

void EmitJson(const Node& n, std::string& out) {
  switch (n.kind) {
    case Node::Kind::kString:
      core::AppendJsonString(out, n.text);
      return;
    case Node::Kind::kInt:
      absl::StrAppend(&out, n.number);
      return;
    case Node::Kind::kList:
      out.push_back('[');
      for (const Node& item : n.items) {
        if (out.back() != '[') out.push_back(',');
        EmitJson(item, out);
      }
      out.push_back(']');
      return;
    case Node::Kind::kMap:
      out.push_back('{');
      for (const auto& [key, value] : n.fields) {
        if (out.back() != '{') out.push_back(',');
        core::AppendJsonString(out, key);
        out.push_back(':');
        EmitJson(value, out);
      }
      out.push_back('}');
      return;
  }
}

bool Scalar(const Node& n) {
  return n.kind == Node::Kind::kString || n.kind == Node::Kind::kInt ||
         (n.kind == Node::Kind::kMap && n.fields.empty()) ||
         (n.kind == Node::Kind::kList && n.items.empty());
}

// Block-style YAML; scalars as JSON (a double-quoted JSON string is a valid
// YAML one), empty collections as {} and [].
void EmitYaml(const Node& n, int indent, std::string& out) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  if (n.kind == Node::Kind::kMap) {
    for (const auto& [key, value] : n.fields) {
      out += pad;
      core::AppendJsonString(out, key);
      if (Scalar(value)) {
        out += ": ";
        EmitJson(value, out);
        out += "\n";
      } else {
        out += ":\n";
        EmitYaml(value, indent + 2, out);
      }
    }
  } else if (n.kind == Node::Kind::kList) {
    for (const Node& item : n.items) {
      if (Scalar(item)) {
        out += pad + "- ";
        EmitJson(item, out);
        out += "\n";
      } else {
        // "- " then the item's first line; the rest indented under it.
        std::string inner;
        EmitYaml(item, indent + 2, inner);
        out += pad + "-" + inner.substr(static_cast<size_t>(indent) + 1);
      }
    }
  }
}

}  // namespace

std::string TraefikDynamicConfig(const std::vector<const registry::ServiceRecord*>& records,
                                 const TraefikOptions& options, TraefikFormat format) {
  Node root = Node::Map();
  Node& http = root.Add("http", Node::Map());
  Node& routers = http.Add("routers", Node::Map());
  Node& services = http.Add("services", Node::Map());
  for (const registry::ServiceRecord* record : records) {
    Node& router = routers.Add(record->name, Node::Map());
    if (!record->route_entry_points.empty()) {
      router.Add("entryPoints", Node::Strings(record->route_entry_points));
    }
    if (!record->route_middlewares.empty()) {
      router.Add("middlewares", Node::Strings(record->route_middlewares));
    }
    if (record->route_priority != 0) router.Add("priority", Node::Int(record->route_priority));
    router.Add("rule", Node::String(registry::EffectiveRouteRule(*record)));
    router.Add("service", Node::String(record->name));

    Node& balancer = services.Add(record->name, Node::Map()).Add("loadBalancer", Node::Map());
    if (!record->health.ready_path.empty()) {
      Node& check = balancer.Add("healthCheck", Node::Map());
      check.Add("interval", Node::String("5s"));
      check.Add("path", Node::String(record->health.ready_path));
      check.Add("timeout", Node::String("2s"));
    }
    Node server = Node::Map();
    // A port that terminates TLS is reached over https (Traefik must trust
    // its CA: a serversTransport with rootCAs, see README).
    const std::string& scheme = record->tls ? std::string("https") : options.scheme;
    server.Add("url", Node::String(
                          absl::StrCat(scheme, "://", options.advertise_host, ":", record->port)));
    Node& servers = balancer.Add("servers", Node::List());
    servers.items.push_back(std::move(server));
  }
  std::string out;
  if (format == TraefikFormat::kJson) {
    EmitJson(root, out);
    out.push_back('\n');
  } else {
    out =
        "# Written by icaht-sidecar (--traefik-file): Traefik file provider, dynamic "
        "configuration.\n";
    EmitYaml(root, 0, out);
  }
  return out;
}

}  // namespace icaht::discovery
