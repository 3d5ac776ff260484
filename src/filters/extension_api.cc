#include "filters/extension_api.h"

#include <array>

#include "http/field_syntax.h"
#include "icaht/plugin.h"

namespace icaht::filters::extension {
namespace {

// Fields the proxy frames the message and the connection with: an extension
// that set them could desynchronize the client or the upstream.
constexpr std::array<std::string_view, 8> kReservedFields = {
    "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te",
    "trailer",        "proxy-connection"};

bool IsReserved(std::string_view name) {
  for (std::string_view reserved : kReservedFields) {
    if (name.size() == reserved.size() && http::EqualsIgnoreCase(name, reserved)) return true;
  }
  return false;
}

bool IsFieldValue(std::string_view value) {
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

int CheckName(const RequestContext& ctx, std::string_view name) {
  if (name.size() > ICAHT_MAX_HEADER_NAME) {
    Fail(ctx, "header name too long");
    return ICAHT_ETOOBIG;
  }
  if (!http::IsToken(name)) return Fail(ctx, "header name is not a token");
  if (IsReserved(name)) return Fail(ctx, "header is the proxy's (framing, hop-by-hop)");
  return ICAHT_OK;
}

int CheckField(const RequestContext& ctx, std::string_view name, std::string_view value) {
  if (int error = CheckName(ctx, name); error != ICAHT_OK) return error;
  if (value.size() > ICAHT_MAX_HEADER_VALUE ||
      ctx.extension.strings.bytes() + name.size() + value.size() > ICAHT_MAX_ADDED_BYTES) {
    Fail(ctx, "header value too long, or too many bytes added");
    return ICAHT_ETOOBIG;
  }
  if (!IsFieldValue(value)) return Fail(ctx, "header value has CR, LF, NUL or control bytes");
  return ICAHT_OK;
}

int CheckPhase(const RequestContext& ctx, bool allowed) {
  return allowed ? ICAHT_OK : Fail(ctx, "called in a phase that cannot change this");
}

bool IsContentType(std::string_view name) { return http::NameEquals(name, "content-type"); }

}  // namespace

int Fail(const RequestContext& ctx, std::string_view why) {
  if (!ctx.extension.failed) {
    ctx.extension.failed = true;
    ctx.extension.failure = why;
  }
  return ICAHT_EINVAL;
}

void FillFailure(RequestContext& ctx) {
  LocalResponse& response = ctx.local_response;
  response.status = 500;
  response.content_type = LocalResponse{}.content_type;
  response.body = "middleware error\n";
  response.body_view = {};
  response.fields.clear();
}

void FailResponse(RequestContext& ctx) {
  const int status = ctx.response_status;
  if (status >= 200 && status != 204 && status != 304) {
    ctx.response_edits.SetStatus(500);
    ctx.response_status = 500;
  }
}

std::string_view Path(const RequestContext& ctx) { return ctx.path(); }

std::optional<std::string_view> RequestHeader(const RequestContext& ctx, std::string_view name) {
  if (const std::string_view* added = ctx.upstream_edits.FindAdded(name)) return *added;
  if (ctx.upstream_edits.Removes(name)) return std::nullopt;
  if (const http::Header* h = ctx.FindRequestHeader(name)) return h->value;
  return std::nullopt;
}

std::optional<std::string_view> ResponseHeader(const RequestContext& ctx, std::string_view name) {
  if (ctx.upstream_response == nullptr) return std::nullopt;
  for (const http::Header& h : ctx.upstream_response->headers) {
    if (h.name.size() == name.size() && http::EqualsIgnoreCase(h.name, name)) return h.value;
  }
  return std::nullopt;
}

int Status(const RequestContext& ctx) {
  if (ctx.extension.phase == Phase::kRequest) return 0;
  int overridden = ctx.response_edits.status();
  return overridden != 0 ? overridden : ctx.response_status;
}

int64_t DurationUs(const RequestContext& ctx) {
  if (ctx.start_ns == 0) return 0;
  int64_t end = ctx.end_ns != 0 ? ctx.end_ns : ctx.response_head_ns;
  return end > ctx.start_ns ? (end - ctx.start_ns) / 1000 : 0;
}

int SetRequestHeader(RequestContext& ctx, std::string_view name, std::string_view value) {
  if (int error = CheckPhase(ctx, ctx.extension.phase == Phase::kRequest); error != ICAHT_OK) {
    return error;
  }
  if (int error = CheckField(ctx, name, value); error != ICAHT_OK) return error;
  KeptStrings& kept = ctx.extension.strings;
  ctx.upstream_edits.Set(kept.Keep(name), kept.Keep(value));
  return ICAHT_OK;
}

int RemoveRequestHeader(RequestContext& ctx, std::string_view name) {
  if (int error = CheckPhase(ctx, ctx.extension.phase == Phase::kRequest); error != ICAHT_OK) {
    return error;
  }
  if (int error = CheckField(ctx, name, ""); error != ICAHT_OK) return error;
  ctx.upstream_edits.RemoveAll(ctx.extension.strings.Keep(name));
  return ICAHT_OK;
}

int Respond(RequestContext& ctx, int status, std::string_view body) {
  if (int error = CheckPhase(ctx, ctx.extension.phase == Phase::kRequest); error != ICAHT_OK) {
    return error;
  }
  if (status < 200 || status > 599) return Fail(ctx, "respond() with a status outside 200..599");
  if (body.size() > ICAHT_MAX_BODY) {
    Fail(ctx, "respond() with a body over the limit");
    return ICAHT_ETOOBIG;
  }
  ctx.extension.responded = true;
  ctx.local_response.status = status;
  ctx.local_response.body.assign(body.data(), body.size());
  ctx.local_response.body_view = {};
  return ICAHT_OK;
}

int SetResponseHeader(RequestContext& ctx, std::string_view name, std::string_view value,
                      bool add) {
  const Phase phase = ctx.extension.phase;
  if (int error = CheckPhase(ctx, phase == Phase::kRequest || phase == Phase::kResponse);
      error != ICAHT_OK) {
    return error;
  }
  if (int error = CheckField(ctx, name, value); error != ICAHT_OK) return error;
  KeptStrings& kept = ctx.extension.strings;
  std::string_view kept_value = kept.Keep(value);
  if (phase == Phase::kRequest && IsContentType(name)) {
    // The local answer's own Content-Type, not a second one.
    ctx.local_response.content_type = kept_value;
    return ICAHT_OK;
  }
  std::string_view kept_name = kept.Keep(name);
  if (phase == Phase::kRequest) {
    // For a local answer (whose response phase starts from no edits) and
    // for the upstream's answer alike.
    std::vector<http::Header>& fields = ctx.local_response.fields;
    if (!add) {
      std::erase_if(fields, [&](const http::Header& h) {
        return h.name.size() == name.size() && http::EqualsIgnoreCase(h.name, name);
      });
    }
    fields.push_back({kept_name, kept_value});
  }
  if (add) {
    ctx.response_edits.Add(kept_name, kept_value);
  } else {
    ctx.response_edits.Set(kept_name, kept_value);
  }
  return ICAHT_OK;
}

int RemoveResponseHeader(RequestContext& ctx, std::string_view name) {
  const Phase phase = ctx.extension.phase;
  if (int error = CheckPhase(ctx, phase == Phase::kRequest || phase == Phase::kResponse);
      error != ICAHT_OK) {
    return error;
  }
  if (int error = CheckField(ctx, name, ""); error != ICAHT_OK) return error;
  ctx.response_edits.RemoveAll(ctx.extension.strings.Keep(name));
  return ICAHT_OK;
}

int SetStatus(RequestContext& ctx, int status) {
  if (int error = CheckPhase(ctx, ctx.extension.phase == Phase::kResponse); error != ICAHT_OK) {
    return error;
  }
  auto bodiless = [](int s) { return s == 204 || s == 304 || s < 200; };
  if (status < 200 || status > 599 || bodiless(ctx.response_status) || bodiless(status)) {
    return Fail(ctx, "set_status() outside 200..599, or to or from 204 or 304");
  }
  ctx.response_edits.SetStatus(status);
  ctx.response_status = status;
  return ICAHT_OK;
}

}  // namespace icaht::filters::extension
