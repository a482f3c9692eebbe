#pragma once
/// `Result<T>`: a value or an `Error`, never both. Errors are values on every data path
/// (no exceptions); `value()` on an error is a programming bug and aborts.
#include <cstdlib>
#include <type_traits>
#include <utility>
#include <variant>

#include "flowex/common/error.hpp"

namespace flowex::common {

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)
    Result(ErrorCode code, std::string message)
        : v_(std::in_place_index<1>, Error{code, std::move(message)}) {}

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & { Check(); return std::get<0>(v_); }
    const T& value() const& { Check(); return std::get<0>(v_); }
    T&& value() && { Check(); return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    /// The error; only valid when !ok().
    const Error& error() const& {
        if (ok()) { std::abort(); }
        return std::get<1>(v_);
    }
    Error&& error() && {
        if (ok()) { std::abort(); }
        return std::get<1>(std::move(v_));
    }
    template <class U>
    T value_or(U&& fallback) const& { return ok() ? std::get<0>(v_) : T(std::forward<U>(fallback)); }

private:
    void Check() const {
        if (!ok()) { std::abort(); }
    }
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
    Result(ErrorCode code, std::string message) : error_{code, std::move(message)}, ok_(false) {}

    bool ok() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }
    const Error& error() const& {
        if (ok_) { std::abort(); }
        return error_;
    }
    Error&& error() && {
        if (ok_) { std::abort(); }
        return std::move(error_);
    }

private:
    Error error_;
    bool ok_ = true;
};

using Status = Result<void>;

inline Status Ok() { return {}; }

}  // namespace flowex::common
