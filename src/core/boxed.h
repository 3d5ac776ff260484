#pragma once
// An optional value kept on the heap: std::optional's interface and value
// semantics (copies copy the value, == compares values), but 8 bytes when
// empty. For large, rarely set members of records that exist once per
// service and shard (issue 17: 10,000 services with every feature on, where
// an empty std::optional<TlsSpec> costs its full 320 bytes each time).

#include <memory>
#include <optional>
#include <utility>

namespace icaht::core {

template <typename T>
class Boxed {
 public:
  Boxed() = default;
  Boxed(std::nullopt_t) {}  // NOLINT: implicit, as std::optional's
  Boxed(const T& value) : value_(std::make_unique<T>(value)) {}        // NOLINT
  Boxed(T&& value) : value_(std::make_unique<T>(std::move(value))) {}  // NOLINT
  Boxed(const std::optional<T>& value)                                 // NOLINT
      : value_(value ? std::make_unique<T>(*value) : nullptr) {}
  Boxed(const Boxed& other) : value_(other ? std::make_unique<T>(*other) : nullptr) {}
  Boxed(Boxed&&) noexcept = default;
  Boxed& operator=(const Boxed& other) {
    if (this != &other) value_ = other ? std::make_unique<T>(*other) : nullptr;
    return *this;
  }
  Boxed& operator=(Boxed&&) noexcept = default;
  Boxed& operator=(std::nullopt_t) {
    value_.reset();
    return *this;
  }

  bool has_value() const { return value_ != nullptr; }
  explicit operator bool() const { return has_value(); }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return value_.get(); }
  const T* operator->() const { return value_.get(); }
  template <typename... Args>
  T& emplace(Args&&... args) {
    value_ = std::make_unique<T>(std::forward<Args>(args)...);
    return *value_;
  }
  void reset() { value_.reset(); }
  T value_or(T otherwise) const { return value_ ? *value_ : std::move(otherwise); }
  // A std::optional copy (for interfaces that take one).
  std::optional<T> ToOptional() const { return value_ ? std::optional<T>(*value_) : std::nullopt; }

  friend bool operator==(const Boxed& a, const Boxed& b) {
    if (a.has_value() != b.has_value()) return false;
    return !a.has_value() || *a == *b;
  }
  friend bool operator==(const Boxed& a, std::nullopt_t) { return !a.has_value(); }
  // Against a std::optional, explicitly: otherwise std::optional's own
  // template (optional<T> vs any U) takes the Boxed as a value, and calls
  // an empty optional different from an empty Boxed.
  friend bool operator==(const Boxed& a, const std::optional<T>& b) {
    if (a.has_value() != b.has_value()) return false;
    return !a.has_value() || *a == *b;
  }
  friend bool operator==(const std::optional<T>& b, const Boxed& a) { return a == b; }
  friend bool operator!=(const Boxed& a, const std::optional<T>& b) { return !(a == b); }
  friend bool operator!=(const std::optional<T>& b, const Boxed& a) { return !(a == b); }

 private:
  std::unique_ptr<T> value_;
};

}  // namespace icaht::core
