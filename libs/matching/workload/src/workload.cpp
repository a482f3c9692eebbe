#include "flowex/matching/workload.hpp"

#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

namespace flowex::matching::workload {

namespace {

// Reads the whole (possibly gzip-compressed) file; gzread passes plain files through unchanged.
bool ReadAll(const std::string& path, std::string& out, std::string& error) {
    gzFile file = gzopen(path.c_str(), "rb");
    if (file == nullptr) {
        error = "cannot open workload file '" + path + "': " + std::strerror(errno);
        return false;
    }
    gzbuffer(file, 1U << 20);
    out.clear();
    constexpr std::size_t kChunk = 1U << 22;
    for (;;) {
        const std::size_t old_size = out.size();
        out.resize(old_size + kChunk);
        const int got = gzread(file, out.data() + old_size, static_cast<unsigned>(kChunk));
        if (got < 0) {
            int code = 0;
            error = "cannot read workload file '" + path + "': " + gzerror(file, &code);
            gzclose(file);
            return false;
        }
        out.resize(old_size + static_cast<std::size_t>(got));
        if (got == 0) { break; }
    }
    gzclose(file);
    return true;
}

template <class T>
bool ParseInt(std::string_view text, T& value) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc{} && end == text.data() + text.size();
}

bool ParseLine(std::string_view line, Op& op, bool& prefill) {
    std::string_view fields[7];
    std::size_t count = 0;
    std::size_t start = 0;
    for (;;) {
        const std::size_t comma = line.find(',', start);
        if (count == 7) { return false; }
        if (comma == std::string_view::npos) {
            fields[count++] = line.substr(start);
            break;
        }
        fields[count++] = line.substr(start, comma - start);
        start = comma + 1;
    }
    if (count != 7) { return false; }
    std::int64_t seq = 0;
    if (!ParseInt(fields[0], seq) || seq < -1) { return false; }
    prefill = seq == -1;
    const std::string_view kind = fields[1];
    if (kind == "GTC") {
        op.kind = OpKind::kGtc;
    } else if (kind == "IOC") {
        op.kind = OpKind::kIoc;
    } else if (kind == "CANCEL") {
        op.kind = OpKind::kCancel;
    } else if (kind == "MOVE") {
        op.kind = OpKind::kMove;
    } else {
        return false;
    }
    if (!ParseInt(fields[2], op.order)) { return false; }
    if (fields[3] == "B") {
        op.side = Side::kBuy;
    } else if (fields[3] == "S") {
        op.side = Side::kSell;
    } else {
        return false;
    }
    const bool needs_price = op.kind != OpKind::kCancel;
    const bool needs_quantity = op.kind == OpKind::kGtc || op.kind == OpKind::kIoc;
    op.price = 0;
    op.quantity = 0;
    if (needs_price && !ParseInt(fields[4], op.price)) { return false; }
    if (needs_quantity && !ParseInt(fields[5], op.quantity)) { return false; }
    return ParseInt(fields[6], op.user);
}

}  // namespace

bool Load(const std::string& path, Workload& out, std::string& error) {
    std::string text;
    if (!ReadAll(path, text, error)) { return false; }
    out.prefill.clear();
    out.measured.clear();
    out.measured.reserve(text.size() / 24);
    std::string_view rest(text);
    std::size_t line_number = 0;
    while (!rest.empty()) {
        const std::size_t end = rest.find('\n');
        std::string_view line = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
        ++line_number;
        if (!line.empty() && line.back() == '\r') { line.remove_suffix(1); }
        if (line_number == 1) {
            if (line.rfind("seq,", 0) != 0) {
                error = "workload file '" + path + "': missing header line 'seq,op,...'";
                return false;
            }
            continue;
        }
        if (line.empty()) { continue; }
        Op op;
        bool prefill = false;
        if (!ParseLine(line, op, prefill)) {
            error = "workload file '" + path + "' line " + std::to_string(line_number) +
                    ": malformed record '" + std::string(line.substr(0, 80)) + "'";
            return false;
        }
        (prefill ? out.prefill : out.measured).push_back(op);
    }
    if (line_number == 0) {
        error = "workload file '" + path + "' is empty";
        return false;
    }
    return true;
}

}  // namespace flowex::matching::workload
