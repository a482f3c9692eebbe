// libFuzzer target: what libs/http makes of a request target before a handler sees it — the
// router (literal, {param} and {tail...} segments, as the services and the collector register
// them), PercentDecode and ParseQuery. The input's first line is the path, the rest the query
// string. Beyond not crashing, checked against a plain re-implementation:
//  - a matched route's parameters are the percent-decoded segments at their positions, and a
//    tail parameter is every remaining segment, decoded and joined with '/' — however many;
//  - each query pair is the decoding of one non-empty '&'-separated part, split at its first
//    '='; decoding never lengthens text, and re-encoding what it decoded decodes to the same.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flowex/http/context.hpp"
#include "flowex/http/message.hpp"
#include "flowex/http/router.hpp"

namespace {

namespace fh = flowex::http;

void Check(bool condition) {
    if (!condition) { __builtin_trap(); }
}

std::vector<std::string_view> Segments(std::string_view path) {
    std::vector<std::string_view> out;
    if (!path.empty() && path.front() == '/') { path.remove_prefix(1); }
    if (path.empty()) { return out; }
    std::size_t start = 0;
    for (;;) {
        const std::size_t slash = path.find('/', start);
        out.push_back(path.substr(start, slash - start));
        if (slash == std::string_view::npos) { return out; }
        start = slash + 1;
    }
}

std::string Encode(std::string_view s) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        out += '%';
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
    return out;
}

const fh::Router& Routes() {
    static const fh::Router router = [] {
        fh::Router r;
        auto ok = fh::Sync([](fh::RequestContext&) { return fh::TextResponse(200, ""); });
        r.Get("/v1/orders/{order_id}", ok).Delete("/v1/orders/{order_id}", ok);
        r.Get("/v1/orders/{order_id}/trades", ok).Post("/v1/order", ok).Get("/metrics", ok);
        r.Get("/api/traces/{trace_id}", ok).Get("/api/{rest...}", ok).Get("/{path...}", ok);
        return r;
    }();
    return router;
}

void CheckRoute(std::string_view path) {
    fh::RequestContext ctx;
    const auto m = Routes().Find(fh::Method::kGet, path, ctx);
    if (m.kind != fh::Router::MatchKind::kFound) { return; }
    Check(ctx.route == m.pattern);
    const auto pattern = Segments(m.pattern);
    const auto segs = Segments(path);
    std::size_t p = 0;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        const std::string_view s = pattern[i];
        if (s.front() != '{') {
            Check(i < segs.size() && segs[i] == s);
            continue;
        }
        Check(p < ctx.path_params.size());
        const std::string& value = ctx.path_params[p++].second;
        if (s.ends_with("...}")) {
            std::string rest;
            for (std::size_t k = i; k < segs.size(); ++k) {
                if (k > i) { rest += '/'; }
                rest += fh::PercentDecode(segs[k], false);
            }
            Check(value == rest);
        } else {
            Check(i < segs.size() && !segs[i].empty());
            Check(value == fh::PercentDecode(segs[i], false));
        }
    }
    Check(p == ctx.path_params.size());
}

void CheckQuery(std::string_view query) {
    const auto pairs = fh::ParseQuery(query);
    std::size_t k = 0;
    std::size_t start = 0;
    while (start <= query.size()) {
        std::size_t amp = query.find('&', start);
        if (amp == std::string_view::npos) { amp = query.size(); }
        const std::string_view part = query.substr(start, amp - start);
        start = amp + 1;
        if (part.empty()) { continue; }
        const std::size_t eq = part.find('=');
        const std::string_view raw_value =
            eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
        Check(k < pairs.size());
        Check(pairs[k].first == fh::PercentDecode(part.substr(0, eq), true));
        Check(pairs[k].second == fh::PercentDecode(raw_value, true));
        ++k;
    }
    Check(k == pairs.size());
    for (bool plus : {false, true}) {
        const std::string decoded = fh::PercentDecode(query, plus);
        Check(decoded.size() <= query.size());
        Check(fh::PercentDecode(Encode(decoded), plus) == decoded);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t newline = input.find('\n');
    CheckRoute(input.substr(0, newline));
    CheckQuery(newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1));
    return 0;
}
