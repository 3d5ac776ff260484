#include "registry/record_routes.h"

#include <cctype>

#include "absl/strings/str_format.h"
#include "core/status_macros.h"
#include "http/field_syntax.h"
#include "re2/re2.h"
#include "registry/record_fields.h"
#include "registry/record_retries.h"

namespace icaht::registry {
namespace {

using filters::FieldMatchSpec;
using filters::RouteMatchSpec;
using filters::RouteSpec;
using filters::SubsetSpec;
using filters::WeightedSubset;
using json::FieldError;
using json::JoinPath;
using json::Value;

constexpr size_t kMaxLabels = 16;
constexpr size_t kMaxLabelLength = 63;
constexpr size_t kMaxSubsets = 32;
constexpr size_t kMaxRoutes = 64;
constexpr size_t kMaxConditions = 16;  // methods, headers, query parameters, to
constexpr int64_t kMaxWeight = 1'000'000;
constexpr size_t kMaxDirectBody = 64 * 1024;
constexpr std::string_view kNameRule =
    "must be 1..63 characters of [a-z0-9._-] starting with a letter or digit";

bool IsLabelText(std::string_view text, bool is_key) {
  if ((is_key && text.empty()) || text.size() > kMaxLabelLength) return false;
  for (char c : text) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
              (is_key && c == '/');
    if (!ok) return false;
  }
  return true;
}

// Compiles `pattern` to check it and drops it: the record keeps the text and
// proxy/route_table.cc compiles its own (both with RE2's default options).
absl::Status ReadRegex(Value& value, const std::string& path, std::string& out) {
  ICAHT_RETURN_IF_ERROR(ReadText(value, path, out));
  RE2 re(out, RE2::Quiet);
  if (!re.ok()) return FieldError(path, absl::StrFormat("invalid regex: %s", re.error()));
  return absl::OkStatus();
}

absl::Status ReadPath(Value& value, const std::string& path, std::string& out) {
  ICAHT_RETURN_IF_ERROR(ReadText(value, path, out));
  if (!out.starts_with('/')) return FieldError(path, "must start with '/'");
  return absl::OkStatus();
}

// {"name": ..., and one of "exact", "prefix" (headers only), "regex", "present"}.
absl::Status ParseFieldMatch(Value& value, const std::string& path, bool is_header,
                             FieldMatchSpec& out) {
  bool has_name = false;
  int conditions = 0;
  std::string_view one_of =
      is_header ? "exact, prefix, regex or present" : "exact, regex or present";
  ICAHT_RETURN_IF_ERROR(
      json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
        std::string field_path = JoinPath(path, key);
        if (key == "name") {
          has_name = true;
          if (!is_header) return ReadText(field, field_path, out.name);
          ICAHT_RETURN_IF_ERROR(ReadHeaderName(field, field_path, out.name));
          for (char& c : out.name)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          return absl::OkStatus();
        }
        bool is_condition =
            key == "exact" || key == "regex" || key == "present" || (is_header && key == "prefix");
        if (!is_condition) return json::UnknownFieldError(field_path);
        if (++conditions > 1) {
          return FieldError(field_path, absl::StrFormat("only one of %s", one_of));
        }
        if (key == "exact" || key == "prefix") {
          out.kind = key == "exact" ? FieldMatchSpec::Kind::kExact : FieldMatchSpec::Kind::kPrefix;
          return ReadText(field, field_path, out.value, /*allow_empty=*/true);
        }
        if (key == "regex") {
          out.kind = FieldMatchSpec::Kind::kRegex;
          return ReadRegex(field, field_path, out.value);
        }
        ICAHT_ASSIGN_OR_RETURN(bool present, json::ReadBool(field, field_path));
        out.kind = present ? FieldMatchSpec::Kind::kPresent : FieldMatchSpec::Kind::kAbsent;
        return absl::OkStatus();
      }));
  if (!has_name) return FieldError(JoinPath(path, "name"), "required");
  if (conditions == 0) return FieldError(path, absl::StrFormat("needs one of %s", one_of));
  return absl::OkStatus();
}

absl::Status ParseFieldMatches(Value& value, const std::string& path, bool is_header,
                               std::vector<FieldMatchSpec>& out) {
  out.clear();
  return json::ForEachElement(value, path, [&](size_t index, Value& element) -> absl::Status {
    if (index >= kMaxConditions) {
      return FieldError(path, absl::StrFormat("must have at most %d entries", kMaxConditions));
    }
    FieldMatchSpec match;
    ICAHT_RETURN_IF_ERROR(ParseFieldMatch(element, json::IndexPath(path, index), is_header, match));
    out.push_back(std::move(match));
    return absl::OkStatus();
  });
}

absl::Status ReadMethod(Value& value, const std::string& path, std::string& out) {
  ICAHT_ASSIGN_OR_RETURN(out, json::ReadString(value, path));
  if (out.empty() || out.size() > 32 || !http::IsToken(out)) {
    return FieldError(path, "must be a method (1..32 token characters)");
  }
  return absl::OkStatus();
}

absl::Status ParseMatch(Value& value, const std::string& path, RouteMatchSpec& out) {
  return json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
    std::string field_path = JoinPath(path, key);
    if (key == "path_prefix" || key == "path_exact" || key == "path_regex") {
      if (out.path_kind != RouteMatchSpec::PathKind::kAny) {
        return FieldError(field_path, "only one of path_prefix, path_exact and path_regex");
      }
      if (key == "path_regex") {
        out.path_kind = RouteMatchSpec::PathKind::kRegex;
        return ReadRegex(field, field_path, out.path);
      }
      out.path_kind = key == "path_prefix" ? RouteMatchSpec::PathKind::kPrefix
                                           : RouteMatchSpec::PathKind::kExact;
      return ReadPath(field, field_path, out.path);
    }
    if (key == "methods")
      return ReadList(field, field_path, out.methods, ReadMethod, kMaxConditions);
    if (key == "headers") return ParseFieldMatches(field, field_path, true, out.headers);
    if (key == "query") return ParseFieldMatches(field, field_path, false, out.query);
    return json::UnknownFieldError(field_path);
  });
}

absl::Status ParseWeightedSubset(Value& value, const std::string& path, WeightedSubset& out) {
  bool has_subset = false;
  ICAHT_RETURN_IF_ERROR(
      json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
        std::string field_path = JoinPath(path, key);
        if (key == "subset") {
          has_subset = true;
          return ReadText(field, field_path, out.subset);
        }
        if (key == "weight") {
          ICAHT_ASSIGN_OR_RETURN(int64_t weight, json::ReadInt(field, field_path, 0, kMaxWeight));
          out.weight = static_cast<uint32_t>(weight);
          return absl::OkStatus();
        }
        return json::UnknownFieldError(field_path);
      }));
  if (!has_subset) return FieldError(JoinPath(path, "subset"), "required");
  return absl::OkStatus();
}

// {"subset": "v2"} or [{"subset": "v1", "weight": 90}, ...].
absl::Status ParseTo(Value& value, const std::string& path, std::vector<WeightedSubset>& out) {
  ICAHT_ASSIGN_OR_RETURN(auto type, json::TypeOf(value));
  if (type == simdjson::ondemand::json_type::object) {
    out.emplace_back();
    ICAHT_RETURN_IF_ERROR(ParseWeightedSubset(value, path, out.back()));
  } else if (type == simdjson::ondemand::json_type::array) {
    ICAHT_RETURN_IF_ERROR(
        json::ForEachElement(value, path, [&](size_t index, Value& element) -> absl::Status {
          if (index >= kMaxConditions) {
            return FieldError(path,
                              absl::StrFormat("must have at most %d entries", kMaxConditions));
          }
          out.emplace_back();
          return ParseWeightedSubset(element, json::IndexPath(path, index), out.back());
        }));
    if (out.empty()) return FieldError(path, "must have at least one entry");
  } else {
    return FieldError(path,
                      "must be {\"subset\": NAME} or a list of {\"subset\": NAME, \"weight\": N}");
  }
  uint64_t total = 0;
  for (const WeightedSubset& target : out) total += target.weight;
  if (total == 0) return FieldError(path, "weights must sum to more than 0");
  return absl::OkStatus();
}

absl::Status ParseDirectResponse(Value& value, const std::string& path,
                                 filters::DirectResponseSpec& out) {
  return json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
    std::string field_path = JoinPath(path, key);
    if (key == "status") {
      ICAHT_ASSIGN_OR_RETURN(int64_t status, json::ReadInt(field, field_path, 200, 599));
      out.status = static_cast<uint16_t>(status);
      return absl::OkStatus();
    }
    if (key == "body") {
      ICAHT_ASSIGN_OR_RETURN(out.body, json::ReadString(field, field_path));
      if (out.body.size() > kMaxDirectBody) {
        return FieldError(field_path, absl::StrFormat("must be at most %d bytes", kMaxDirectBody));
      }
      return absl::OkStatus();
    }
    return json::UnknownFieldError(field_path);
  });
}

absl::Status ParseRewrite(Value& value, const std::string& path, RouteSpec& out) {
  return json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
    std::string field_path = JoinPath(path, key);
    if (key != "path_prefix") return json::UnknownFieldError(field_path);
    out.rewrite_path_prefix.emplace();
    return ReadPath(field, field_path, *out.rewrite_path_prefix);
  });
}

// The record's timeout members that make sense per route, with its ranges.
absl::Status ParseRouteTimeouts(Value& value, const std::string& path,
                                filters::RouteTimeouts& out) {
  return json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
    std::string field_path = JoinPath(path, key);
    if (key == "trust_header") {
      ICAHT_ASSIGN_OR_RETURN(out.trust_header, json::ReadBool(field, field_path));
      return absl::OkStatus();
    }
    if (key == "idle_ms") return FieldError(field_path, "is per connection, not per route");
    std::optional<uint32_t>* target = nullptr;
    int64_t min = 1;
    int64_t max = 3'600'000;
    if (key == "connect_ms") {
      target = &out.connect_ms;
      max = 600'000;
    } else if (key == "request_ms") {
      target = &out.request_ms;
    } else if (key == "total_ms") {
      target = &out.total_ms;
      min = 0;
    } else {
      return json::UnknownFieldError(field_path);
    }
    ICAHT_ASSIGN_OR_RETURN(int64_t ms, json::ReadInt(field, field_path, min, max));
    *target = static_cast<uint32_t>(ms);
    return absl::OkStatus();
  });
}

absl::Status ParseRoute(Value& value, const std::string& path, RouteSpec& out) {
  bool has_to = false;
  ICAHT_RETURN_IF_ERROR(
      json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
        std::string field_path = JoinPath(path, key);
        if (key == "match") return ParseMatch(field, field_path, out.match);
        if (key == "name") {
          ICAHT_ASSIGN_OR_RETURN(out.name, json::ReadString(field, field_path));
          if (!IsValidServiceName(out.name)) return FieldError(field_path, kNameRule);
          return absl::OkStatus();
        }
        if (key == "to") {
          has_to = true;
          return ParseTo(field, field_path, out.to);
        }
        if (key == "direct_response") {
          out.direct_response.emplace();
          return ParseDirectResponse(field, field_path, *out.direct_response);
        }
        if (key == "rewrite") return ParseRewrite(field, field_path, out);
        if (key == "timeouts") return ParseRouteTimeouts(field, field_path, out.timeouts);
        if (key == "retries") return ParseRetries(field, field_path, out.retries);
        return json::UnknownFieldError(field_path);
      }));
  if (out.direct_response) {
    // A local answer has no upstream to route, time or retry.
    std::string_view not_with;
    if (has_to) {
      not_with = "to";
    } else if (out.rewrite_path_prefix) {
      not_with = "rewrite";
    } else if (!out.timeouts.empty()) {
      not_with = "timeouts";
    } else if (out.retries) {
      not_with = "retries";
    }
    if (!not_with.empty()) return FieldError(JoinPath(path, not_with), "not with direct_response");
  } else if (!has_to) {
    return FieldError(path, "needs \"to\" or \"direct_response\"");
  }
  if (out.rewrite_path_prefix && out.match.path_kind != RouteMatchSpec::PathKind::kPrefix) {
    return FieldError(JoinPath(path, "rewrite.path_prefix"), "needs match.path_prefix");
  }
  return absl::OkStatus();
}

void WriteFieldMatches(JsonWriter& w, const std::vector<FieldMatchSpec>& matches) {
  w.StartArray();
  for (const FieldMatchSpec& match : matches) {
    w.StartObject().Key("name").String(match.name);
    switch (match.kind) {
      case FieldMatchSpec::Kind::kExact:
        w.Key("exact").String(match.value);
        break;
      case FieldMatchSpec::Kind::kPrefix:
        w.Key("prefix").String(match.value);
        break;
      case FieldMatchSpec::Kind::kRegex:
        w.Key("regex").String(match.value);
        break;
      case FieldMatchSpec::Kind::kPresent:
      case FieldMatchSpec::Kind::kAbsent:
        w.Key("present").Bool(match.kind == FieldMatchSpec::Kind::kPresent);
        break;
    }
    w.EndObject();
  }
  w.EndArray();
}

void WriteMatch(JsonWriter& w, const RouteMatchSpec& match) {
  w.StartObject();
  switch (match.path_kind) {
    case RouteMatchSpec::PathKind::kAny:
      break;
    case RouteMatchSpec::PathKind::kPrefix:
      w.Key("path_prefix").String(match.path);
      break;
    case RouteMatchSpec::PathKind::kExact:
      w.Key("path_exact").String(match.path);
      break;
    case RouteMatchSpec::PathKind::kRegex:
      w.Key("path_regex").String(match.path);
      break;
  }
  if (!match.methods.empty()) {
    w.Key("methods").StartArray();
    for (const std::string& method : match.methods) w.String(method);
    w.EndArray();
  }
  if (!match.headers.empty()) WriteFieldMatches(w.Key("headers"), match.headers);
  if (!match.query.empty()) WriteFieldMatches(w.Key("query"), match.query);
  w.EndObject();
}

void WriteRoute(JsonWriter& w, const RouteSpec& route) {
  w.StartObject();
  if (!route.name.empty()) w.Key("name").String(route.name);
  WriteMatch(w.Key("match"), route.match);
  if (route.direct_response) {
    w.Key("direct_response").StartObject();
    w.Key("status").Uint(route.direct_response->status);
    w.Key("body").String(route.direct_response->body);
    w.EndObject();
  } else {
    w.Key("to").StartArray();
    for (const WeightedSubset& target : route.to) {
      w.StartObject().Key("subset").String(target.subset).Key("weight").Uint(target.weight);
      w.EndObject();
    }
    w.EndArray();
  }
  if (route.rewrite_path_prefix) {
    w.Key("rewrite").StartObject().Key("path_prefix").String(*route.rewrite_path_prefix);
    w.EndObject();
  }
  if (!route.timeouts.empty()) {
    w.Key("timeouts").StartObject();
    if (route.timeouts.connect_ms) w.Key("connect_ms").Uint(*route.timeouts.connect_ms);
    if (route.timeouts.request_ms) w.Key("request_ms").Uint(*route.timeouts.request_ms);
    if (route.timeouts.total_ms) w.Key("total_ms").Uint(*route.timeouts.total_ms);
    if (route.timeouts.trust_header) w.Key("trust_header").Bool(*route.timeouts.trust_header);
    w.EndObject();
  }
  if (route.retries) WriteRetries(w.Key("retries"), route.retries);
  w.EndObject();
}

}  // namespace

absl::Status ParseLabels(Value& value, const std::string& path, filters::Labels& out) {
  out.clear();
  return json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
    std::string field_path = JoinPath(path, key);
    if (out.size() >= kMaxLabels) {
      return FieldError(path, absl::StrFormat("must have at most %d labels", kMaxLabels));
    }
    if (!IsLabelText(key, /*is_key=*/true)) {
      return FieldError(field_path, "a label's name must be 1..63 characters of [A-Za-z0-9._/-]");
    }
    ICAHT_ASSIGN_OR_RETURN(std::string text, json::ReadString(field, field_path));
    if (!IsLabelText(text, /*is_key=*/false)) {
      return FieldError(field_path, "must be 0..63 characters of [A-Za-z0-9._-]");
    }
    out.emplace(std::string(key), std::move(text));
    return absl::OkStatus();
  });
}

void WriteLabels(JsonWriter& w, const filters::Labels& labels) {
  w.StartObject();
  for (const auto& [key, value] : labels) w.Key(key).String(value);
  w.EndObject();
}

absl::Status ParseSubsets(Value& value, const std::string& path, std::vector<SubsetSpec>& out) {
  out.clear();
  return json::ForEachElement(value, path, [&](size_t index, Value& element) -> absl::Status {
    if (index >= kMaxSubsets) {
      return FieldError(path, absl::StrFormat("must have at most %d entries", kMaxSubsets));
    }
    std::string element_path = json::IndexPath(path, index);
    SubsetSpec subset;
    bool has_name = false;
    bool has_labels = false;
    ICAHT_RETURN_IF_ERROR(json::ForEachField(
        element, element_path, [&](std::string_view key, Value& field) -> absl::Status {
          std::string field_path = JoinPath(element_path, key);
          if (key == "name") {
            ICAHT_ASSIGN_OR_RETURN(subset.name, json::ReadString(field, field_path));
            if (!IsValidServiceName(subset.name)) return FieldError(field_path, kNameRule);
            for (const SubsetSpec& other : out) {
              if (other.name == subset.name) {
                return FieldError(field_path,
                                  absl::StrFormat("subset '%s' is named twice", subset.name));
              }
            }
            has_name = true;
            return absl::OkStatus();
          }
          if (key == "labels") {
            has_labels = true;
            return ParseLabels(field, field_path, subset.labels);
          }
          return json::UnknownFieldError(field_path);
        }));
    if (!has_name) return FieldError(JoinPath(element_path, "name"), "required");
    if (!has_labels) return FieldError(JoinPath(element_path, "labels"), "required");
    out.push_back(std::move(subset));
    return absl::OkStatus();
  });
}

void WriteSubsets(JsonWriter& w, const std::vector<SubsetSpec>& subsets) {
  w.StartArray();
  for (const SubsetSpec& subset : subsets) {
    w.StartObject().Key("name").String(subset.name);
    WriteLabels(w.Key("labels"), subset.labels);
    w.EndObject();
  }
  w.EndArray();
}

absl::Status ParseRoutes(Value& value, const std::string& path, std::vector<RouteSpec>& out) {
  out.clear();
  return json::ForEachElement(value, path, [&](size_t index, Value& element) -> absl::Status {
    if (index >= kMaxRoutes) {
      return FieldError(path, absl::StrFormat("must have at most %d entries", kMaxRoutes));
    }
    RouteSpec route;
    ICAHT_RETURN_IF_ERROR(ParseRoute(element, json::IndexPath(path, index), route));
    out.push_back(std::move(route));
    return absl::OkStatus();
  });
}

void WriteRoutes(JsonWriter& w, const std::vector<RouteSpec>& routes) {
  w.StartArray();
  for (const RouteSpec& route : routes) WriteRoute(w, route);
  w.EndArray();
}

absl::Status CheckRoutes(const ServiceRecord& record, std::string_view object_path) {
  std::string subsets_path = JoinPath(object_path, "subsets");
  for (size_t i = 0; i < record.subsets.size(); ++i) {
    const SubsetSpec& subset = record.subsets[i];
    bool selects_one = false;
    for (const UpstreamSpec& upstream : record.upstreams) {
      selects_one |= filters::SelectorMatches(subset.labels, upstream.labels);
    }
    if (!selects_one) {
      return FieldError(JoinPath(json::IndexPath(subsets_path, i), "labels"),
                        absl::StrFormat("no upstream has these labels (subset '%s')", subset.name));
    }
  }
  std::string routes_path = JoinPath(object_path, "routes");
  for (size_t i = 0; i < record.routes.size(); ++i) {
    const RouteSpec& route = record.routes[i];
    for (size_t j = 0; j < route.to.size(); ++j) {
      bool known = false;
      for (const SubsetSpec& subset : record.subsets) known |= subset.name == route.to[j].subset;
      if (!known) {
        std::string to_path = JoinPath(json::IndexPath(routes_path, i), "to");
        return FieldError(JoinPath(json::IndexPath(to_path, j), "subset"),
                          absl::StrFormat("no subset named '%s'", route.to[j].subset));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace icaht::registry
