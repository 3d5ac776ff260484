// Exchange after a 101: the Tunnel (exchange.h).

#include "proxy/exchange.h"

namespace icaht::proxy {

using filters::ErrorKind;
using filters::MakeError;
using filters::Outcome;

void Exchange::StartTunnel(const http::ResponseHead& head, std::string_view rest) {
  ctx_.response_status = 101;
  ctx_.response_head_ns = core::LoopNowNs();
  call_->MarkDirty();  // never pooled again
  WriteResponseHead(head, true, false);
  if (!rest.empty()) client_->Send(rest);
  tunnel_ =
      std::make_unique<Tunnel>(shard_, client_, call_->stream(), static_cast<Tunnel::Owner*>(this));
  ArmTimer(TimerPurpose::kTunnelIdle, config_->idle_timeout_ms);
  tunnel_->Start();
  // Bytes the client sent after its upgrade request are the tunnel's.
  owner_->OnRequestBodyWanted();
}

void Exchange::OnTunnelClosed(bool clean) {
  ctx_.request_body_bytes = tunnel_->bytes_from_client();
  ctx_.response_body_bytes = tunnel_->bytes_to_client();
  if (!clean) return Fail(MakeError(ErrorKind::kResponseCut, "tunnel failed"));
  call_->CloseGracefully();
  Finish(Outcome::kTunnel, Next::kClose);
}

}  // namespace icaht::proxy
