#pragma once
// Builders for OTLP requests in tests.
#include <sys/resource.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "flowex/collector/otlp_decode.hpp"

namespace flowex::collector::testing {

inline std::string Id(std::string_view hex) {
    std::string out;
    FromHex(hex, &out);
    return out;
}

struct SpanSpec {
    std::string trace_hex;
    std::string span_hex;
    std::string parent_hex;
    std::string name;
    int kind = 2;
    std::uint64_t start_ns = 0;
    std::uint64_t end_ns = 0;
    bool error = false;
    std::vector<std::pair<std::string, std::string>> attrs;  // string attributes
    std::vector<std::pair<std::string, std::int64_t>> int_attrs;
};

inline void AddSpan(otlp_trace::ScopeSpans* ss, const SpanSpec& s) {
    auto* span = ss->add_spans();
    span->set_trace_id(Id(s.trace_hex));
    span->set_span_id(Id(s.span_hex));
    if (!s.parent_hex.empty()) {
        span->set_parent_span_id(Id(s.parent_hex));
    }
    span->set_name(s.name);
    span->set_kind(static_cast<otlp_trace::Span_SpanKind>(s.kind));
    span->set_start_time_unix_nano(s.start_ns);
    span->set_end_time_unix_nano(s.end_ns);
    for (const auto& [k, v] : s.attrs) {
        auto* kv = span->add_attributes();
        kv->set_key(k);
        kv->mutable_value()->set_string_value(v);
    }
    for (const auto& [k, v] : s.int_attrs) {
        auto* kv = span->add_attributes();
        kv->set_key(k);
        kv->mutable_value()->set_int_value(v);
    }
    if (s.error) {
        span->mutable_status()->set_code(otlp_trace::Status::STATUS_CODE_ERROR);
        span->mutable_status()->set_message("boom");
    }
}

inline otlp_trace::ScopeSpans* AddResource(ExportTraceRequest* req, const std::string& service) {
    auto* rs = req->add_resource_spans();
    auto* kv = rs->mutable_resource()->add_attributes();
    kv->set_key("service.name");
    kv->mutable_value()->set_string_value(service);
    auto* ss = rs->add_scope_spans();
    ss->mutable_scope()->set_name("test-scope");
    return ss;
}

// A resource of `service` with one scope for log records (no scope name).
inline otlp_logs::ScopeLogs* AddLogResource(ExportLogsRequest* req, const std::string& service) {
    auto* rl = req->add_resource_logs();
    auto* kv = rl->mutable_resource()->add_attributes();
    kv->set_key("service.name");
    kv->mutable_value()->set_string_value(service);
    return rl->add_scope_logs();
}

inline DecodedTraces DecodeOrDie(const ExportTraceRequest& req) {
    auto d = DecodeTraces(req.SerializeAsString(), Encoding::kProtobuf);
    if (!d) {
        std::abort();
    }
    return std::move(d).value();
}

class TempDir {
public:
    TempDir() {
        std::random_device rd;
        path_ = std::filesystem::temp_directory_path() /
                ("flowex-collector-test-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string str() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

// Writes past `bytes` in any file fail (EFBIG, as ENOSPC on a full disk) while it lives.
class FileSizeLimit {
public:
    explicit FileSizeLimit(rlim_t bytes) {
        old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
        ::getrlimit(RLIMIT_FSIZE, &old_);
        rlimit lower = old_;
        lower.rlim_cur = bytes;
        if (::setrlimit(RLIMIT_FSIZE, &lower) != 0) { std::abort(); }
    }
    ~FileSizeLimit() {
        ::setrlimit(RLIMIT_FSIZE, &old_);
        std::signal(SIGXFSZ, old_handler_);
    }
    FileSizeLimit(const FileSizeLimit&) = delete;
    FileSizeLimit& operator=(const FileSizeLimit&) = delete;

private:
    rlimit old_{};
    void (*old_handler_)(int) = SIG_DFL;
};

}  // namespace flowex::collector::testing
