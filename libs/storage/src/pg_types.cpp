// Parameters, results, SQL description: the pure parts of the PostgreSQL API.
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "flowex/storage/pg.hpp"

namespace flowex::storage {
namespace {

constexpr std::string_view kUniquePrefix = "duplicate value violates unique constraint \"";

bool IsIdentChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '"' ||
           c == '$';
}

// A tiny SQL tokenizer: skips whitespace, comments and string literals; yields words and
// single punctuation characters, and tracks parenthesis depth.
class Tokens {
public:
    explicit Tokens(std::string_view sql) : s_(sql) {}

    // Next token at any depth; "" at the end. `depth` is the depth before the token.
    std::string_view Next(int* depth) {
        SkipSpace();
        *depth = depth_;
        if (pos_ >= s_.size()) {
            return {};
        }
        char c = s_[pos_];
        if (c == '\'') {
            std::size_t start = pos_++;
            while (pos_ < s_.size()) {
                if (s_[pos_] == '\'') {
                    if (pos_ + 1 < s_.size() && s_[pos_ + 1] == '\'') {
                        pos_ += 2;
                        continue;
                    }
                    ++pos_;
                    break;
                }
                ++pos_;
            }
            return s_.substr(start, pos_ - start);
        }
        if (c == '(') {
            ++depth_;
            ++pos_;
            return s_.substr(pos_ - 1, 1);
        }
        if (c == ')') {
            --depth_;
            *depth = depth_;
            ++pos_;
            return s_.substr(pos_ - 1, 1);
        }
        if (IsIdentChar(c)) {
            std::size_t start = pos_;
            if (c == '"') {
                ++pos_;
                while (pos_ < s_.size() && s_[pos_] != '"') {
                    ++pos_;
                }
                ++pos_;
            }
            while (pos_ < s_.size() && IsIdentChar(s_[pos_])) {
                ++pos_;
            }
            return s_.substr(start, pos_ - start);
        }
        ++pos_;
        return s_.substr(pos_ - 1, 1);
    }

private:
    void SkipSpace() {
        for (;;) {
            while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])) != 0) {
                ++pos_;
            }
            if (s_.substr(pos_, 2) == "--") {
                auto nl = s_.find('\n', pos_);
                pos_ = nl == std::string_view::npos ? s_.size() : nl + 1;
                continue;
            }
            if (s_.substr(pos_, 2) == "/*") {
                auto end = s_.find("*/", pos_ + 2);
                pos_ = end == std::string_view::npos ? s_.size() : end + 2;
                continue;
            }
            return;
        }
    }

    std::string_view s_;
    std::size_t pos_ = 0;
    int depth_ = 0;
};

std::string Upper(std::string_view w) {
    std::string out(w);
    for (auto& c : out) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

std::string TableName(std::string_view w) {
    std::string out;
    for (char c : w) {
        if (c != '"') {
            out += c;
        }
    }
    // "public.orders" → "orders"? Keep the qualified name: it is what the SQL says.
    return out;
}

}  // namespace

SqlSummary DescribeSql(std::string_view sql) {
    SqlSummary out;
    Tokens tokens(sql);
    int depth = 0;
    std::string_view tok = tokens.Next(&depth);
    std::string first = Upper(tok);
    if (first == "WITH") {
        // Find the first top-level DML keyword after the CTE list.
        for (tok = tokens.Next(&depth); !tok.empty(); tok = tokens.Next(&depth)) {
            if (depth != 0) {
                continue;
            }
            std::string w = Upper(tok);
            if (w == "SELECT" || w == "INSERT" || w == "UPDATE" || w == "DELETE") {
                first = w;
                break;
            }
        }
        if (first == "WITH") {
            out.operation = "WITH";
            return out;
        }
    }
    out.operation = first;
    // The word after which the main table follows.
    std::string_view marker;
    if (first == "SELECT" || first == "DELETE") {
        marker = "FROM";
    } else if (first == "INSERT") {
        marker = "INTO";
    } else if (first == "UPDATE") {
        tok = tokens.Next(&depth);
        if (Upper(tok) == "ONLY") {
            tok = tokens.Next(&depth);
        }
        if (!tok.empty() && IsIdentChar(tok[0])) {
            out.table = TableName(tok);
        }
        return out;
    } else {
        return out;
    }
    const int base = depth;
    for (tok = tokens.Next(&depth); !tok.empty(); tok = tokens.Next(&depth)) {
        if (depth == base && Upper(tok) == marker) {
            tok = tokens.Next(&depth);
            if (Upper(tok) == "ONLY") {
                tok = tokens.Next(&depth);
            }
            if (!tok.empty() && IsIdentChar(tok[0]) && tok != "(") {
                out.table = TableName(tok);
            }
            break;
        }
    }
    return out;
}

PgParam::PgParam(double v) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    text_.assign(buf, r.ptr);
}

std::optional<std::string> UniqueViolationConstraint(const common::Error& error) {
    if (error.code != common::ErrorCode::kConflict ||
        error.message.rfind(kUniquePrefix, 0) != 0) {
        return std::nullopt;
    }
    std::string name = error.message.substr(kUniquePrefix.size());
    if (!name.empty() && name.back() == '"') {
        name.pop_back();
    }
    return name;
}

// ---- results ------------------------------------------------------------------------------

bool PgRow::IsNull(int col) const {
    if (res_ == nullptr || col < 0 || col >= PQnfields(res_) || row_ < 0 || row_ >= PQntuples(res_)) {
        return true;
    }
    return PQgetisnull(res_, row_, col) != 0;
}

std::string_view PgRow::Text(int col) const {
    if (IsNull(col)) {
        return {};
    }
    return std::string_view(PQgetvalue(res_, row_, col),
                            static_cast<std::size_t>(PQgetlength(res_, row_, col)));
}

std::optional<std::string> PgRow::OptString(int col) const {
    if (IsNull(col)) {
        return std::nullopt;
    }
    return std::string(Text(col));
}

std::optional<std::int64_t> PgRow::OptInt64(int col) const {
    if (IsNull(col)) {
        return std::nullopt;
    }
    auto t = Text(col);
    std::int64_t v = 0;
    auto r = std::from_chars(t.data(), t.data() + t.size(), v);
    if (r.ec != std::errc() || r.ptr != t.data() + t.size()) {
        return std::nullopt;
    }
    return v;
}

std::optional<bool> PgRow::OptBool(int col) const {
    if (IsNull(col)) {
        return std::nullopt;
    }
    auto t = Text(col);
    if (t == "t" || t == "true") {
        return true;
    }
    if (t == "f" || t == "false") {
        return false;
    }
    return std::nullopt;
}

std::optional<double> PgRow::OptDouble(int col) const {
    if (IsNull(col)) {
        return std::nullopt;
    }
    std::string t(Text(col));
    char* end = nullptr;
    double v = std::strtod(t.c_str(), &end);
    if (end != t.c_str() + t.size()) {
        return std::nullopt;
    }
    return v;
}

int PgRow::Column(std::string_view name) const {
    if (res_ == nullptr) {
        return -1;
    }
    const int n = PQnfields(res_);
    for (int i = 0; i < n; ++i) {
        if (name == PQfname(res_, i)) {
            return i;
        }
    }
    return -1;
}

int PgRows::size() const { return res_ ? PQntuples(res_.get()) : 0; }
int PgRows::columns() const { return res_ ? PQnfields(res_.get()) : 0; }

std::int64_t PgRows::affected() const {
    if (!res_) {
        return 0;
    }
    const char* t = PQcmdTuples(res_.get());
    if (t == nullptr || *t == '\0') {
        return 0;
    }
    return std::strtoll(t, nullptr, 10);
}

std::string_view PgRows::command() const {
    if (!res_) {
        return {};
    }
    const char* c = PQcmdStatus(res_.get());
    return c != nullptr ? std::string_view(c) : std::string_view();
}

}  // namespace flowex::storage
