#include "filters/api_key_store.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_format.h"
#include "core/check.h"

namespace icaht::filters {
namespace {

constexpr size_t kMaxNameLength = 64;
constexpr size_t kMaxFileBytes = 1 << 20;

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '@' || c == '-';
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool DecodeHex(std::string_view hex, ApiKeySet::Digest* out) {
  if (hex.size() != 2 * out->size()) return false;
  for (size_t i = 0; i < out->size(); ++i) {
    int hi = HexDigit(hex[2 * i]);
    int lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// SHA-256 fetched from the default provider once: an implicit fetch per call
// (EVP_sha256() with OpenSSL 3) costs a lookup each time.
const EVP_MD* Sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  ICAHT_CHECK(md != nullptr);
  return md;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

}  // namespace

ApiKeySet::Digest Sha256(std::string_view data) {
  // One context per thread, reset for each digest: no allocation per key.
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  ICAHT_CHECK(ctx != nullptr);
  ApiKeySet::Digest digest;
  unsigned int size = 0;
  ICAHT_CHECK(EVP_DigestInit_ex2(ctx.get(), Sha256Md(), nullptr) == 1);
  ICAHT_CHECK(EVP_DigestUpdate(ctx.get(), data.data(), data.size()) == 1);
  ICAHT_CHECK(EVP_DigestFinal_ex(ctx.get(), digest.data(), &size) == 1);
  ICAHT_CHECK(size == digest.size());
  return digest;
}

absl::StatusOr<std::shared_ptr<const ApiKeySet>> ApiKeySet::Parse(std::string_view text,
                                                                  std::string_view source) {
  auto set = std::make_shared<ApiKeySet>();
  std::vector<size_t> lines;  // of each entry, for duplicate messages
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    size_t newline = text.find('\n');
    std::string_view line = Trim(text.substr(0, newline));
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (line.empty() || line.front() == '#') continue;
    auto error = [&](std::string_view problem) {
      return absl::InvalidArgumentError(absl::StrFormat("%s:%d: %s", source, line_number, problem));
    };
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return error("expected name:sha256-hex");
    }
    std::string_view name = line.substr(0, colon);
    std::string_view hex = line.substr(colon + 1);
    bool name_ok = !name.empty() && name.size() <= kMaxNameLength;
    for (char c : name) name_ok &= IsNameChar(c);
    if (!name_ok) return error("the name must be 1..64 characters of [A-Za-z0-9._@-]");
    Entry entry{std::string(name), {}};
    if (!DecodeHex(hex, &entry.hash)) {
      return error("the hash must be 64 hex digits (the SHA-256 of the key)");
    }
    for (size_t i = 0; i < set->entries_.size(); ++i) {
      const Entry& other = set->entries_[i];
      if (other.name == entry.name) {
        return error(absl::StrFormat("duplicate name '%s' (also on line %d)", name, lines[i]));
      }
      if (other.hash == entry.hash) {
        return error(absl::StrFormat("the same key as '%s' on line %d", other.name, lines[i]));
      }
    }
    set->entries_.push_back(std::move(entry));
    lines.push_back(line_number);
  }
  return std::shared_ptr<const ApiKeySet>(std::move(set));
}

const std::string* ApiKeySet::Match(std::string_view presented_key) const {
  Digest presented = Sha256(presented_key);
  // Every entry is compared, and the index of the match is selected with a
  // mask rather than a branch: no early exit, no data-dependent jump. At
  // most one entry can match (Parse refuses duplicate hashes).
  size_t found = entries_.size();
  for (size_t i = 0; i < entries_.size(); ++i) {
    // CRYPTO_memcmp returns 0 on equality, else a nonzero byte value.
    uint64_t diff = static_cast<unsigned int>(
        CRYPTO_memcmp(presented.data(), entries_[i].hash.data(), presented.size()));
    uint64_t equal_mask = ((diff | (0 - diff)) >> 63) - 1;  // all ones iff diff == 0
    found = (i & equal_mask) | (found & ~equal_mask);
  }
  return found < entries_.size() ? &entries_[found].name : nullptr;
}

absl::StatusOr<std::string> ReadKeyFile(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrFormat("%s: cannot open", path));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int saved = errno;
    ::close(fd);
    return absl::ErrnoToStatus(saved, absl::StrFormat("%s: cannot stat", path));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrFormat("%s: not a regular file", path));
  }
  std::string text;
  char buf[1 << 14];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      return absl::ErrnoToStatus(saved, absl::StrFormat("%s: cannot read", path));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > max_bytes) {
      ::close(fd);
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: larger than %d bytes", path, max_bytes));
    }
  }
  ::close(fd);
  return text;
}

absl::StatusOr<std::shared_ptr<const ApiKeySet>> LoadApiKeyFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadKeyFile(path, kMaxFileBytes);
  if (!text.ok()) return text.status();
  return ApiKeySet::Parse(*text, path);
}

bool FileWatcher::Changed() {
  Stamp now;
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0) {
    now.exists = true;
    now.device = st.st_dev;
    now.inode = st.st_ino;
    now.size = st.st_size;
    now.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  }
  bool changed = !last_.has_value() || *last_ != now;
  last_ = now;
  return changed;
}

}  // namespace icaht::filters
