#include "route_cmd.h"

#include <charconv>

#include "absl/status/status.h"
#include "record_json.h"
#include "simdjson.h"
#include "table.h"
#include "text.h"

namespace icaht::ctl {
namespace {

namespace dom = simdjson::dom;

// A route with no match (absent or {}) takes every request that reaches it.
bool IsCatchAll(dom::object route) {
  dom::object match;
  return route["match"].get(match) != simdjson::SUCCESS || match.size() == 0;
}

void AppendSplit(std::string* out, const std::vector<std::pair<std::string, uint32_t>>& split) {
  out->push_back('[');
  for (size_t i = 0; i < split.size(); ++i) {
    if (i != 0) out->push_back(',');
    out->append("{\"subset\":");
    AppendJsonString(out, split[i].first);
    Append(out, ",\"weight\":", split[i].second, '}');
  }
  out->push_back(']');
}

// A string's text, anything else as JSON; "" for a missing member.
std::string Text(dom::element e) {
  std::string_view s;
  if (e.get(s) == simdjson::SUCCESS) return std::string(s);
  return simdjson::minify(e);
}
std::string Text(simdjson::simdjson_result<dom::element> result) {
  dom::element e;
  return result.get(e) == simdjson::SUCCESS ? Text(e) : "";
}

// "prefix /api", "GET,HEAD", "x-canary=1", "debug?" ... joined by spaces; "*" for none.
std::string DescribeMatch(dom::object route) {
  dom::object match;
  if (route["match"].get(match) != simdjson::SUCCESS) return "*";
  std::vector<std::string> parts;
  for (auto [key, value] : match) {
    if (key == "path_prefix") {
      parts.push_back(Cat("prefix ", Text(value)));
    } else if (key == "path_exact") {
      parts.push_back(Cat("path ", Text(value)));
    } else if (key == "path_regex") {
      parts.push_back(Cat("regex ", Text(value)));
    } else if (key == "methods") {
      std::string methods;
      for (dom::element m : value.get_array())
        Append(&methods, methods.empty() ? "" : ",", Text(m));
      parts.push_back(methods);
    } else if (key == "headers" || key == "query") {
      for (dom::element f : value.get_array()) {
        std::string part = Cat(key == "query" ? "?" : "", Text(f["name"]));
        for (auto [kind, op] : {std::pair{"exact", "="}, {"prefix", "^="}, {"regex", "~"}}) {
          if (f[kind].error() == simdjson::SUCCESS) Append(&part, op, Text(f[kind]));
        }
        bool present = true;
        if (f["present"].get(present) == simdjson::SUCCESS) Append(&part, present ? "" : " absent");
        parts.push_back(std::move(part));
      }
    }
  }
  std::string out;
  for (const std::string& p : parts) Append(&out, out.empty() ? "" : " ", p);
  return out.empty() ? "*" : out;
}

std::string DescribeTo(dom::object route) {
  dom::object direct;
  if (route["direct_response"].get(direct) == simdjson::SUCCESS) {
    return Cat(Text(direct["status"]), " direct");
  }
  std::string out;
  dom::array to;
  if (route["to"].get(to) != simdjson::SUCCESS) return "-";
  for (dom::element w : to) {
    Append(&out, out.empty() ? "" : ",", Text(w["subset"]));
    if (to.size() > 1) Append(&out, "=", Text(w["weight"]));
  }
  return out;
}

}  // namespace

const char kRouteUsage[] =
    "usage: icahtctl route NAME [--split SUBSET=WEIGHT,...]\n"
    "\n"
    "Shows the service's subsets and routes; with --split, sends the requests no other route\n"
    "takes to the subsets by weight (e.g. --split v1=90,v2=10): the split becomes the `to` of\n"
    "the record's catch-all route (the first without a match), added at the end when there is\n"
    "none.\n";

std::optional<std::string> ParseRouteArgs(
    const std::vector<std::string>& positional,
    const std::vector<std::pair<std::string, std::string>>& options, RouteArgs* out) {
  if (positional.empty()) return "missing service NAME";
  if (positional.size() > 1) return Cat("unexpected argument '", positional[1], "'");
  out->service = positional[0];
  out->split.reset();
  for (const auto& [name, value] : options) {
    if (name != "--split") continue;
    if (out->split) return "--split given twice";
    out->split.emplace();
    std::string_view rest = value;
    while (true) {
      size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      size_t eq = item.find('=');
      uint32_t weight = 0;
      std::string_view number = eq == std::string_view::npos ? "" : item.substr(eq + 1);
      auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), weight);
      if (eq == 0 || eq == std::string_view::npos || number.empty() || ec != std::errc() ||
          end != number.data() + number.size()) {
        return Cat("bad --split item '", item, "': expected SUBSET=WEIGHT");
      }
      out->split->emplace_back(std::string(item.substr(0, eq)), weight);
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
  }
  return std::nullopt;
}

absl::StatusOr<std::string> ApplySplit(std::string_view json,
                                       const std::vector<std::pair<std::string, uint32_t>>& split) {
  dom::parser parser;
  dom::object record;
  if (auto err = parser.parse(json.data(), json.size()).get(record)) {
    return Malformed("record", err);
  }
  dom::array routes;
  bool has_routes = record["routes"].get(routes) == simdjson::SUCCESS;
  // The first catch-all route: the routes after it are never reached.
  int64_t catch_all = -1, index = 0;
  if (has_routes) {
    for (dom::element route : routes) {
      dom::object object;
      if (route.get(object) == simdjson::SUCCESS && IsCatchAll(object)) {
        if (object["direct_response"].error() != simdjson::NO_SUCH_FIELD) {
          return absl::FailedPreconditionError(
              Cat("routes[", index,
                  "] answers every request it gets itself (direct_response): a split after it "
                  "would never be reached; change the record with update --file"));
        }
        catch_all = index;
        break;
      }
      ++index;
    }
  }
  std::string out = "{";
  auto key = [&out](std::string_view name) {
    if (out.size() > 1) out.push_back(',');
    AppendJsonString(&out, name);
    out.push_back(':');
  };
  for (auto [name, value] : record) {
    if (name == "routes") continue;
    key(name);
    out.append(simdjson::minify(value));
  }
  key("routes");
  out.push_back('[');
  index = 0;
  if (has_routes) {
    for (dom::element route : routes) {
      if (index != 0) out.push_back(',');
      if (index++ != catch_all) {
        out.append(simdjson::minify(route));
        continue;
      }
      std::string replaced = "{";
      for (auto [name, value] : route.get_object()) {
        if (name == "to") continue;
        if (replaced.size() > 1) replaced.push_back(',');
        AppendJsonString(&replaced, name);
        Append(&replaced, ':', simdjson::minify(value));
      }
      Append(&replaced, replaced.size() > 1 ? "," : "", "\"to\":");
      AppendSplit(&replaced, split);
      out.append(replaced).push_back('}');
    }
  }
  if (catch_all < 0) {
    if (index != 0) out.push_back(',');
    out.append("{\"match\":{},\"to\":");
    AppendSplit(&out, split);
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

absl::StatusOr<std::string> FormatRoutes(std::string_view json) {
  dom::parser parser;
  dom::object record;
  if (auto err = parser.parse(json.data(), json.size()).get(record)) {
    return Malformed("record", err);
  }
  std::string out;
  dom::array subsets, routes, upstreams;
  std::vector<dom::element> instances_list;
  if (record["upstreams"].get(upstreams) == simdjson::SUCCESS) {
    for (dom::element u : upstreams) instances_list.push_back(u);
  }
  if (record["subsets"].get(subsets) == simdjson::SUCCESS) {
    std::vector<std::vector<std::string>> rows{{"SUBSET", "LABELS", "INSTANCES"}};
    for (dom::element subset : subsets) {
      dom::object selector = subset["labels"].get_object().value_unsafe();
      std::string labels, instances;
      for (auto [k, v] : selector) Append(&labels, labels.empty() ? "" : ",", k, '=', Text(v));
      for (dom::element u : instances_list) {
        dom::object have;
        bool all = u["labels"].get(have) == simdjson::SUCCESS || selector.size() == 0;
        for (auto [k, v] : selector) {
          all = all && have[k].error() == simdjson::SUCCESS && Text(have[k]) == Text(v);
        }
        std::string address = u.is_string() ? Text(u) : Text(u["address"]);
        if (all) Append(&instances, instances.empty() ? "" : ",", address);
      }
      rows.push_back({Text(subset["name"]), labels.empty() ? "*" : labels,
                      instances.empty() ? "-" : instances});
    }
    out.append(AlignColumns(rows));
  }
  if (record["routes"].get(routes) != simdjson::SUCCESS) {
    return out + "routes: none (every request goes to every instance)\n";
  }
  std::vector<std::vector<std::string>> rows{{"#", "NAME", "MATCH", "TO"}};
  size_t i = 0;
  for (dom::element route : routes) {
    dom::object object = route.get_object().value_unsafe();
    std::string_view name;
    rows.push_back({Cat(i++),
                    object["name"].get(name) == simdjson::SUCCESS ? std::string(name) : "-",
                    DescribeMatch(object), DescribeTo(object)});
  }
  if (!out.empty()) out.push_back('\n');
  out.append(AlignColumns(rows));
  return out;
}

}  // namespace icaht::ctl
