#pragma once
/// The instrumentation seam of libs/storage: an optional observer, set once per pool/client,
/// told about every PostgreSQL query and Redis command. libs/telemetry implements it to create
/// `{operation} {table}` CLIENT spans (db.system.name, db.query.text, db.operation.name,
/// db.collection.name, db.namespace, server.address/port). Storage does not depend on
/// telemetry; without an observer nothing is reported.
///
/// Never carries parameter values or Redis arguments: only the parameterised SQL text, the
/// statement name, the operation and table, and (for PUBLISH/SUBSCRIBE) the channel.
#include <cstdint>
#include <memory>
#include <string_view>

#include "flowex/common/error.hpp"
#include "flowex/common/trace_context.hpp"

namespace flowex::storage {

/// What a call is. Every view is valid only during OnStart (copy what you keep).
struct DbCallInfo {
    std::string_view system;          ///< "postgresql" or "redis"
    std::string_view operation;       ///< "SELECT", "INSERT", "BEGIN", "GET", "PUBLISH", ...
    std::string_view collection;      ///< table ("wallets"), or "" when unknown / not applicable
    std::string_view query_text;      ///< parameterised SQL ("... WHERE id = $1"); Redis: the command name
    std::string_view statement_name;  ///< prepared statement name; "" for ad-hoc SQL and Redis
    std::string_view channel;         ///< Redis PUBLISH/SUBSCRIBE channel, else ""
    std::string_view db_name;         ///< "stockexchange"; Redis: the db index ("0")
    std::string_view server_address;  ///< host the connection goes to
    int server_port = 0;
    const common::TraceContext* parent = nullptr;  ///< never null during OnStart
};

/// How a call ended.
struct DbOutcome {
    bool ok = true;
    common::ErrorCode code = common::ErrorCode::kInternal;  ///< meaningful when !ok
    std::string_view error_type;  ///< SQLSTATE ("23505"), "timeout", "connection", Redis error prefix
    std::string_view message;     ///< the client-safe message (no values)
    std::int64_t rows = -1;       ///< rows returned or affected, -1 when unknown
};

/// RAII handle for one call. End() is called exactly once (also when the call fails or times
/// out) before the handle is destroyed. Called on the pool's/client's executor.
class DbCallScope {
public:
    virtual ~DbCallScope() = default;
    virtual void End(const DbOutcome& outcome) noexcept = 0;
};

/// Called at the start of each call on the pool's/client's executor; must not block. May
/// return nullptr (call not observed, e.g. unsampled).
class DbObserver {
public:
    virtual ~DbObserver() = default;
    virtual std::unique_ptr<DbCallScope> OnStart(const DbCallInfo& info) noexcept = 0;
};

}  // namespace flowex::storage
