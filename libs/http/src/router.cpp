#include "flowex/http/router.hpp"

#include <cstdio>
#include <cstdlib>

namespace flowex::http {
namespace {

// Splits "/a/b/c" into {"a","b","c"}; "/" gives {}; a trailing slash gives a last "".
template <class Fn>
void ForEachSegment(std::string_view path, Fn&& fn) {
    if (!path.empty() && path.front() == '/') { path.remove_prefix(1); }
    if (path.empty()) { return; }
    for (;;) {
        std::size_t slash = path.find('/');
        fn(path.substr(0, slash));
        if (slash == std::string_view::npos) { return; }
        path.remove_prefix(slash + 1);
    }
}

bool ValidName(std::string_view name) noexcept {
    if (name.empty()) { return false; }
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok) { return false; }
    }
    return true;
}

}  // namespace

common::Status Router::Add(Method method, std::string_view pattern, Handler handler) {
    if (pattern.empty() || pattern.front() != '/') {
        return common::Error{common::ErrorCode::kValidation,
                             "route pattern must start with '/': " + std::string(pattern)};
    }
    std::vector<Segment> segments;
    std::string problem;
    ForEachSegment(pattern, [&](std::string_view seg) {
        Segment s;
        if (!segments.empty() && segments.back().kind == Segment::Kind::kTail) {
            problem = "a {name...} segment must be the last";
        }
        if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
            std::string_view name = seg.substr(1, seg.size() - 2);
            s.kind = Segment::Kind::kParam;
            if (name.size() > 3 && name.substr(name.size() - 3) == "...") {
                s.kind = Segment::Kind::kTail;
                name.remove_suffix(3);
            }
            if (!ValidName(name)) { problem = "bad parameter name in segment " + std::string(seg); }
            for (const Segment& other : segments) {
                if (other.kind != Segment::Kind::kLiteral && other.text == name) {
                    problem = "duplicate parameter " + std::string(name);
                }
            }
            s.text = std::string(name);
        } else {
            if (seg.find_first_of("{}") != std::string_view::npos) {
                problem = "braces must enclose a whole segment: " + std::string(seg);
            }
            s.text = std::string(seg);
        }
        segments.push_back(std::move(s));
    });
    if (!problem.empty()) {
        return common::Error{common::ErrorCode::kValidation,
                             "route " + std::string(pattern) + ": " + problem};
    }
    for (Entry& e : entries_) {
        if (e.pattern == pattern) {
            for (const auto& [m, h] : e.handlers) {
                if (m == method) {
                    return common::Error{common::ErrorCode::kValidation,
                                         "route registered twice: " +
                                             std::string(ToString(method)) + " " +
                                             std::string(pattern)};
                }
            }
            e.handlers.emplace_back(method, std::move(handler));
            return common::Ok();
        }
    }
    Entry e;
    e.pattern = std::string(pattern);
    e.segments = std::move(segments);
    e.handlers.emplace_back(method, std::move(handler));
    entries_.push_back(std::move(e));
    return common::Ok();
}

Router& Router::Route(Method method, std::string_view pattern, Handler handler) {
    common::Status st = Add(method, pattern, std::move(handler));
    if (!st) {
        std::fprintf(stderr, "flowex::http::Router: %s\n", st.error().message.c_str());
        std::abort();
    }
    return *this;
}

Router& Router::Get(std::string_view p, Handler h) { return Route(Method::kGet, p, std::move(h)); }
Router& Router::Post(std::string_view p, Handler h) {
    return Route(Method::kPost, p, std::move(h));
}
Router& Router::Put(std::string_view p, Handler h) { return Route(Method::kPut, p, std::move(h)); }
Router& Router::Delete(std::string_view p, Handler h) {
    return Route(Method::kDelete, p, std::move(h));
}
Router& Router::Patch(std::string_view p, Handler h) {
    return Route(Method::kPatch, p, std::move(h));
}

Router::Match Router::Find(Method method, std::string_view path, RequestContext& ctx) const {
    // Collect the path's segments once (bounded: a path has few segments; long ones are
    // simply matched by no pattern).
    constexpr std::size_t kMaxSegments = 32;
    std::string_view segs[kMaxSegments];
    std::size_t n = 0;
    bool too_many = false;
    ForEachSegment(path, [&](std::string_view s) {
        if (n < kMaxSegments) {
            segs[n++] = s;
        } else {
            too_many = true;
        }
    });

    // Best match: compare per position, literal (2) > param (1) > tail (0).
    const Entry* best = nullptr;
    std::size_t best_score[kMaxSegments + 1] = {};
    std::size_t best_len = 0;
    for (const Entry& e : entries_) {
        std::size_t score[kMaxSegments + 1] = {};
        std::size_t len = 0;
        bool ok = true;
        std::size_t i = 0;
        for (; i < e.segments.size() && ok; ++i) {
            const Segment& s = e.segments[i];
            if (s.kind == Segment::Kind::kTail) {
                score[len++] = 0;
                i = e.segments.size();
                break;
            }
            if (i >= n) {
                ok = false;
                break;
            }
            if (s.kind == Segment::Kind::kLiteral) {
                ok = s.text == segs[i];
                score[len++] = 2;
            } else {
                ok = !segs[i].empty();
                score[len++] = 1;
            }
        }
        bool tail = !e.segments.empty() && e.segments.back().kind == Segment::Kind::kTail;
        if (!ok || (!tail && (e.segments.size() != n || too_many))) { continue; }
        bool better = best == nullptr;
        if (!better) {
            for (std::size_t k = 0; k < std::max(len, best_len); ++k) {
                std::size_t a = k < len ? score[k] : 0;
                std::size_t b = k < best_len ? best_score[k] : 0;
                if (a != b) {
                    better = a > b;
                    break;
                }
            }
        }
        if (better) {
            best = &e;
            std::copy(score, score + len, best_score);
            best_len = len;
        }
    }

    Match m;
    if (best == nullptr) { return m; }
    m.pattern = best->pattern;
    const Handler* handler = nullptr;
    const Handler* get = nullptr;
    for (const auto& [hm, h] : best->handlers) {
        if (hm == method) { handler = &h; }
        if (hm == Method::kGet) { get = &h; }
    }
    if (handler == nullptr && method == Method::kHead) { handler = get; }
    if (handler == nullptr) {
        m.kind = MatchKind::kMethodNotAllowed;
        for (const auto& [hm, h] : best->handlers) {
            if (!m.allow.empty()) { m.allow += ", "; }
            m.allow += ToString(hm);
        }
        return m;
    }
    m.kind = MatchKind::kFound;
    m.handler = handler;
    ctx.route = best->pattern;
    ctx.path_params.clear();
    for (std::size_t i = 0; i < best->segments.size(); ++i) {
        const Segment& s = best->segments[i];
        if (s.kind == Segment::Kind::kParam) {
            ctx.path_params.emplace_back(s.text, PercentDecode(segs[i], false));
        } else if (s.kind == Segment::Kind::kTail) {
            // The rest of the path from segment i on, percent-decoded per segment (so an
            // encoded '/' stays inside its segment). Taken from the path itself: segs holds
            // only the first kMaxSegments segments.
            std::string rest;
            if (i < n) {
                std::string_view tail =
                    path.substr(static_cast<std::size_t>(segs[i].data() - path.data()));
                for (;;) {
                    const std::size_t slash = tail.find('/');
                    rest += PercentDecode(tail.substr(0, slash), false);
                    if (slash == std::string_view::npos) { break; }
                    rest.push_back('/');
                    tail.remove_prefix(slash + 1);
                }
            }
            ctx.path_params.emplace_back(s.text, std::move(rest));
        }
    }
    return m;
}

}  // namespace flowex::http
