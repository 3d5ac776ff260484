#pragma once
// A tiny DNS server for tests: a thread with a UDP socket on 127.0.0.1:0 that
// answers A and AAAA questions from a table (NXDOMAIN for names not in it),
// counts the questions it gets, and can be told to stay silent. Names marked
// `truncate` get an empty truncated answer over UDP and the real one over TCP
// (the same port), so the client's TCP fallback is exercised too.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace icaht::net::testing {

class FakeDnsServer {
 public:
  static constexpr uint16_t kTypeA = 1;
  static constexpr uint16_t kTypeAaaa = 28;

  struct Record {
    std::vector<std::string> v4;  // "10.0.0.1"
    std::vector<std::string> v6;  // "fd00::1"
    uint32_t ttl = 60;
    bool truncate = false;  // over UDP: TC set and no records, so the client asks over TCP
  };

  // UDP and TCP on one loopback port (the TCP listener takes a free port first).
  FakeDnsServer() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        listen(listen_fd_, 16) != 0) {
      std::abort();
    }
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) std::abort();
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }

  ~FakeDnsServer() {
    stop_ = true;
    thread_.join();
    for (int fd : connections_) close(fd);
    close(listen_fd_);
    close(fd_);
  }

  // "127.0.0.1:PORT", for DnsOptions::servers.
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

  void Set(const std::string& name, Record record) {
    std::lock_guard<std::mutex> lock(mu_);
    table_[absl::AsciiStrToLower(name)] = std::move(record);
  }
  // Silent: questions are counted but never answered.
  void set_silent(bool silent) { silent_ = silent; }
  // Questions of `type` received so far (UDP and TCP).
  int queries(uint16_t type) const {
    return type == kTypeA ? a_queries_.load() : type == kTypeAaaa ? aaaa_queries_.load() : 0;
  }
  int tcp_queries() const { return tcp_queries_.load(); }

 private:
  void Serve() {
    while (!stop_) {
      std::vector<pollfd> fds = {{fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
      for (int fd : connections_) fds.push_back({fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents != 0) ServeUdp();
      if (fds[1].revents != 0) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) connections_.push_back(fd);
      }
      for (size_t i = 2; i < fds.size(); ++i) {
        if (fds[i].revents != 0 && !ServeTcp(fds[i].fd)) {
          close(fds[i].fd);
          std::erase(connections_, fds[i].fd);
        }
      }
    }
  }

  void ServeUdp() {
    uint8_t query[512];
    sockaddr_in from{};
    socklen_t from_len = sizeof(from);
    ssize_t n =
        recvfrom(fd_, query, sizeof(query), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    std::string answer;
    if (n < 12 || !Answer(query, static_cast<size_t>(n), /*tcp=*/false, &answer)) return;
    if (silent_) return;
    sendto(fd_, answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
  }

  // One length-prefixed question (RFC 1035 4.2.2); false when the peer is gone.
  bool ServeTcp(int fd) {
    uint8_t prefix[2];
    if (recv(fd, prefix, 2, MSG_WAITALL) != 2) return false;
    size_t len = prefix[0] << 8 | prefix[1];
    uint8_t query[512];
    if (len < 12 || len > sizeof(query) || recv(fd, query, len, MSG_WAITALL) != ssize_t(len)) {
      return false;
    }
    ++tcp_queries_;
    std::string answer;
    if (!Answer(query, len, /*tcp=*/true, &answer) || silent_) return true;
    std::string framed;
    Put16(&framed, static_cast<uint16_t>(answer.size()));
    framed += answer;
    return send(fd, framed.data(), framed.size(), MSG_NOSIGNAL) == ssize_t(framed.size());
  }

  static void Put16(std::string* out, uint16_t v) {
    out->push_back(static_cast<char>(v >> 8));
    out->push_back(static_cast<char>(v & 0xff));
  }

  // Builds the answer to one question (RFC 1035 4.1): the question echoed,
  // then one record per address, each naming the question by a pointer.
  bool Answer(const uint8_t* q, size_t n, bool tcp, std::string* out) {
    size_t pos = 12;
    std::string name;
    while (pos < n && q[pos] != 0) {
      size_t len = q[pos];
      if (len > 63 || pos + 1 + len > n) return false;
      if (!name.empty()) name.push_back('.');
      name.append(reinterpret_cast<const char*>(q + pos + 1), len);
      pos += 1 + len;
    }
    if (pos + 5 > n) return false;
    uint16_t type = static_cast<uint16_t>(q[pos + 1] << 8 | q[pos + 2]);
    if (type == kTypeA) ++a_queries_;
    if (type == kTypeAaaa) ++aaaa_queries_;
    size_t question_end = pos + 5;
    absl::AsciiStrToLower(&name);

    std::vector<std::string> rdata;
    uint32_t ttl = 0;
    bool found = false;
    bool truncated = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = table_.find(name);
      if (it != table_.end()) {
        found = true;
        ttl = it->second.ttl;
        truncated = it->second.truncate && !tcp;
        int family = type == kTypeA ? AF_INET : AF_INET6;
        const std::vector<std::string>& ips = type == kTypeA ? it->second.v4 : it->second.v6;
        for (const std::string& ip : ips) {
          uint8_t buf[16];
          if (type != kTypeA && type != kTypeAaaa) break;  // other types: no records
          if (inet_pton(family, ip.c_str(), buf) == 1) {
            rdata.emplace_back(reinterpret_cast<char*>(buf), family == AF_INET ? 4 : 16);
          }
        }
      }
    }
    out->assign(reinterpret_cast<const char*>(q), 2);  // id
    uint16_t flags = 0x8000 | (static_cast<uint16_t>(q[2] << 8 | q[3]) & 0x7900) | 0x0080;
    if (!found) flags |= 3;  // NXDOMAIN
    if (truncated) {
      flags |= 0x0200;  // TC
      rdata.clear();
    }
    Put16(out, flags);
    Put16(out, 1);
    Put16(out, static_cast<uint16_t>(rdata.size()));
    Put16(out, 0);
    Put16(out, 0);
    out->append(reinterpret_cast<const char*>(q + 12), question_end - 12);
    for (const std::string& data : rdata) {
      Put16(out, 0xc00c);
      Put16(out, type);
      Put16(out, 1);  // IN
      Put16(out, static_cast<uint16_t>(ttl >> 16));
      Put16(out, static_cast<uint16_t>(ttl & 0xffff));
      Put16(out, static_cast<uint16_t>(data.size()));
      out->append(data);
    }
    return true;
  }

  int fd_ = -1;                   // UDP
  int listen_fd_ = -1;            // TCP
  std::vector<int> connections_;  // the server thread's only
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> silent_{false};
  std::atomic<int> a_queries_{0};
  std::atomic<int> aaaa_queries_{0};
  std::atomic<int> tcp_queries_{0};
  std::mutex mu_;
  std::map<std::string, Record> table_;
  std::thread thread_;
};

}  // namespace icaht::net::testing
