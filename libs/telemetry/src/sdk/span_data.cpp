#include "flowex/telemetry/sdk/span_data.hpp"

#include <cstring>

#include "span_record.hpp"

namespace flowex::telemetry::sdk {

// Pooled records see the same names, keys and values over and over: skip the copy when the
// slot already holds the text, and copy in place when the length matches, instead of
// std::string::assign's general (aliasing-safe) replace.
void AssignReusing(std::string& out, std::string_view s) noexcept {
    if (out.size() == s.size()) {
        if (!s.empty() && std::memcmp(out.data(), s.data(), s.size()) != 0) {
            std::memcpy(out.data(), s.data(), s.size());
        }
        return;
    }
    out.assign(s.data(), s.size());
}

namespace {

std::string_view Truncate(std::string_view s, std::size_t max_length) noexcept {
    if (max_length == 0 || s.size() <= max_length) {
        return s;
    }
    std::size_t n = max_length;
    // Never cut a UTF-8 sequence in half: back up over continuation bytes.
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) {
        --n;
    }
    return s.substr(0, n);
}

}  // namespace

void AssignValue(OwnedValue& out, const AttributeValue& value, std::size_t max_length) noexcept {
    switch (value.Type()) {
        case AttributeType::kBool:
            out = value.AsBool();
            return;
        case AttributeType::kInt64:
            out = value.AsInt64();
            return;
        case AttributeType::kDouble:
            out = value.AsDouble();
            return;
        case AttributeType::kString: {
            const std::string_view s = Truncate(value.AsString(), max_length);
            if (auto* existing = std::get_if<std::string>(&out)) {
                AssignReusing(*existing, s);  // keeps the pooled capacity
            } else {
                out.emplace<std::string>(s);
            }
            return;
        }
        case AttributeType::kBoolArray: {
            const auto a = value.AsBoolArray();
            out.emplace<std::vector<bool>>(a.begin(), a.end());
            return;
        }
        case AttributeType::kInt64Array: {
            const auto a = value.AsInt64Array();
            out.emplace<std::vector<std::int64_t>>(a.begin(), a.end());
            return;
        }
        case AttributeType::kDoubleArray: {
            const auto a = value.AsDoubleArray();
            out.emplace<std::vector<double>>(a.begin(), a.end());
            return;
        }
        case AttributeType::kStringArray: {
            std::vector<std::string> v;
            v.reserve(value.AsStringArray().size());
            for (std::string_view s : value.AsStringArray()) {
                v.emplace_back(Truncate(s, max_length));
            }
            out = std::move(v);
            return;
        }
    }
}

bool AttributeList::Set(std::string_view key, const AttributeValue& value,
                        std::size_t count_limit, std::size_t value_length_limit) noexcept {
    for (std::size_t i = 0; i < size_; ++i) {
        if (items_[i].key == key) {
            AssignValue(items_[i].value, value, value_length_limit);
            return true;
        }
    }
    if (size_ >= count_limit) {
        return false;
    }
    if (size_ == items_.size()) {
        items_.emplace_back();
    }
    OwnedAttribute& slot = items_[size_];
    AssignReusing(slot.key, key);
    AssignValue(slot.value, value, value_length_limit);
    ++size_;
    return true;
}

const OwnedValue* AttributeList::Find(std::string_view key) const noexcept {
    for (const auto& a : *this) {
        if (a.key == key) {
            return &a.value;
        }
    }
    return nullptr;
}

std::string_view Resource::GetString(std::string_view key) const noexcept {
    const OwnedValue* v = attributes.Find(key);
    if (v == nullptr) {
        return {};
    }
    if (const auto* s = std::get_if<std::string>(v)) {
        return *s;
    }
    return {};
}

}  // namespace flowex::telemetry::sdk
