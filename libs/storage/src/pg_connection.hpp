#pragma once
// Internal: one libpq connection driven by Asio. Not part of the public API.
#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "flowex/common/result.hpp"
#include "flowex/storage/pg.hpp"

namespace flowex::storage::detail {

using SteadyTime = std::chrono::steady_clock::time_point;

enum class CallKind { kPrepared = 0, kParams = 1, kScript = 2 };

/// The outcome of one command: a result, or an error with its classification.
struct ExecOutcome {
    PGresult* result = nullptr;  // owned by the caller on success
    bool failed = false;
    common::ErrorCode code = common::ErrorCode::kInternal;
    std::string message;   // client-safe
    std::string sqlstate;  // "" for client-side failures
    std::string constraint;
    std::string error_type;  // sqlstate, "timeout" or "connection"
};

class PgConnection {
public:
    /// Non-blocking connect (PQconnectStart/PQconnectPoll) bounded by `deadline`.
    static Task<common::Result<std::unique_ptr<PgConnection>>> Connect(
        boost::asio::any_io_executor executor, const std::string& conninfo, SteadyTime deadline);

    ~PgConnection();
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;

    /// Runs one command (preparing `name` first if needed) and collects all its results.
    Task<ExecOutcome> Exec(CallKind kind, std::string_view name, std::string_view sql,
                           const PgParams& params, SteadyTime deadline);

    /// One statement of ExecPipeline: a prepared statement (prepared first when new).
    struct PipelineCommand {
        std::string_view name;
        std::string_view sql;
        const PgParams* params = nullptr;
    };
    /// Sends every command and one Sync in a single write (libpq pipeline mode) and collects
    /// one outcome per command. The server runs them in one implicit transaction committed at
    /// the Sync: when one fails, the ones before it are rolled back and the ones after it are
    /// not run (their outcome is failed with error_type "pipeline_aborted").
    Task<std::vector<ExecOutcome>> ExecPipeline(const std::vector<PipelineCommand>& commands,
                                                SteadyTime deadline);

    /// False when the connection broke, timed out, or is not idle outside a transaction.
    bool ReusableAsIdle() const;
    /// An idle connection the server has closed (restart, pg_terminate_backend) has become
    /// readable: such a one is discarded instead of being handed out.
    bool LooksHealthy();
    bool broken() const { return broken_; }
    void MarkBroken() noexcept;
    PGTransactionStatusType TxStatus() const { return PQtransactionStatus(conn_); }
    int BackendPid() const { return PQbackendPID(conn_); }
    const std::string& last_error_detail() const { return last_error_detail_; }
    const std::string& last_sqlstate() const { return last_sqlstate_; }
    void ClearLastError() {
        last_error_detail_.clear();
        last_sqlstate_.clear();
    }

private:
    PgConnection(boost::asio::any_io_executor executor, PGconn* conn);
    /// Wraps a dup() of PQsocket in the Asio descriptor (libpq keeps and closes its own fd,
    /// so the number Asio registered can never be reused under it).
    bool SyncSocket();
    enum class WaitResult { kReady, kTimeout, kError };
    Task<WaitResult> Wait(boost::asio::posix::stream_descriptor::wait_type type, SteadyTime deadline);
    Task<ExecOutcome> Flush(SteadyTime deadline);
    Task<ExecOutcome> Collect(SteadyTime deadline);
    /// The next result of a pipeline (nullptr ends one command's results); `failure` is set
    /// when the connection failed or the deadline passed.
    Task<PGresult*> NextResult(SteadyTime deadline, ExecOutcome& failure);
    ExecOutcome ConnectionFailure(std::string_view what);
    ExecOutcome Timeout();

    boost::asio::any_io_executor executor_;
    PGconn* conn_;
    int libpq_fd_ = -1;
    boost::asio::posix::stream_descriptor socket_;
    std::set<std::string, std::less<>> prepared_;
    bool broken_ = false;
    std::string last_error_detail_;
    std::string last_sqlstate_;
};

/// Maps a failed result (or a connection failure when res is null) to an ExecOutcome.
ExecOutcome ClassifyFailure(const PGresult* res, PGconn* conn);

}  // namespace flowex::storage::detail
