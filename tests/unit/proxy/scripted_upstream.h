#pragma once
// Test peers for the proxy's unit tests: a loopback address helper and a
// scripted TCP upstream on its own thread.

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "net/address.h"
#include "net/socket.h"

namespace icaht::proxy {

inline net::Address LoopbackPort(uint16_t port) {
  net::Address address = *net::Address::Parse("127.0.0.1:1");
  address.set_port(port);
  return address;
}

// A TCP upstream on its own thread: for each connection, reads a request head
// and answers with `answer` (or, when empty, keeps silent until stopped).
// Remembers the last request head it read.
class ScriptedUpstream {
 public:
  // `close_after`: close each connection after answering its first request.
  explicit ScriptedUpstream(std::string answer, bool close_after = false)
      : answer_(std::move(answer)), close_after_(close_after) {
    auto fd = net::ListenTcp(LoopbackPort(0), {});
    EXPECT_TRUE(fd.ok());
    listen_fd_ = fd->Release();
    address_ = LoopbackPort(*net::LocalPort(listen_fd_));
    thread_ = std::thread([this] { Run(); });
  }
  ~ScriptedUpstream() {
    stop_ = true;
    thread_.join();
    close(listen_fd_);
  }
  const net::Address& address() const { return address_; }
  int requests() const { return requests_; }
  std::string last_head() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_head_;
  }

 private:
  void Run() {
    std::vector<int> conns;
    std::vector<std::string> bufs;
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (int c : conns) fds.push_back({c, POLLIN, 0});
      if (poll(fds.data(), fds.size(), 20) <= 0) continue;
      size_t polled = conns.size();  // a connection accepted below was not polled yet
      if (fds[0].revents & POLLIN) {
        int c = accept(listen_fd_, nullptr, nullptr);
        if (c >= 0) {
          conns.push_back(c);
          bufs.emplace_back();
        }
      }
      for (size_t i = 0; i < polled; ++i) {
        if (!(fds[i + 1].revents & (POLLIN | POLLHUP))) continue;
        char buf[4096];
        ssize_t n = read(conns[i], buf, sizeof buf);
        if (n <= 0) continue;
        bufs[i].append(buf, n);
        size_t end;
        while ((end = bufs[i].find("\r\n\r\n")) != std::string::npos) {
          {
            std::lock_guard<std::mutex> lock(mu_);
            last_head_ = bufs[i].substr(0, end + 4);
          }
          bufs[i].erase(0, end + 4);
          ++requests_;
          if (!answer_.empty()) (void)!write(conns[i], answer_.data(), answer_.size());
          if (close_after_) shutdown(conns[i], SHUT_RDWR);
        }
      }
    }
    for (int c : conns) close(c);
  }

  std::string answer_;
  bool close_after_;
  int listen_fd_ = -1;
  net::Address address_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::string last_head_;
};

}  // namespace icaht::proxy
