#pragma once
/// order-manager: the order saga (DESIGN §5, §6).
///
///   validate (risk-manager) → block cash or shares (wallet-service, keyed by order id)
///   → match (libs/matching, in memory) → persist the order, its trades, the makers' fills
///   and the outbox events in one transaction → settle each trade (wallet-service, keyed by
///   trade id) → release what the order no longer needs → publish events (Redis)
///
/// Crash safety: every step is idempotent on its key and leaves a record (reservation,
/// order row, trade row with settled_at, outbox row until published), so a restarted
/// order-manager finishes or undoes half-done work: it rebuilds each book from the open
/// orders in sequence order (re-matching an order left NEW by an older version),
/// settles unsettled trades, releases reservations of finished orders and of orders that
/// were never inserted, and publishes unpublished events. A background sweeper does the
/// same while running, so work interrupted by a wallet-service outage completes by itself.
///
/// Concurrency: one io thread. Each symbol's book is driven under that symbol's AsyncMutex
/// from matching until the order and its trades are durable (one batch: one round trip, one
/// commit). Risk checks, blocking and settlement run outside the lock, concurrently; a cancel
/// never releases funds while one of the order's trades is unsettled (the sweeper releases
/// them once it is), so settlement outside the lock cannot race a release.
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "async_mutex.hpp"
#include "flowex/common/ids.hpp"
#include "flowex/exchange/order.hpp"
#include "flowex/exchange/risk.hpp"
#include "flowex/http/context.hpp"
#include "flowex/http/router.hpp"
#include "flowex/matching/engine.hpp"
#include "flowex/service/upstream.hpp"
#include "flowex/storage/pg.hpp"
#include "flowex/storage/redis.hpp"
#include "flowex/telemetry/api/trace.hpp"
#include "flowex/telemetry/metrics/metrics.hpp"

namespace flowex::orders {

/// Redis channels of the events order-manager publishes.
inline constexpr std::string_view kTradesChannel = "trades";
inline constexpr std::string_view kOrdersChannel = "orders";

struct OrderRecord {
    std::string order_id;
    std::int64_t seq = 0;
    std::int64_t user_id = 0;
    std::optional<std::string> client_order_id;
    std::string symbol;
    exchange::Side side = exchange::Side::kBuy;
    exchange::OrderType type = exchange::OrderType::kLimit;
    exchange::TimeInForce time_in_force = exchange::TimeInForce::kGtc;
    std::optional<std::int64_t> price_cents;
    /// A market order's bound: the edge of risk's price band, which its cash was blocked at.
    /// It trades at no worse price (DESIGN §6). Not stored: a market order never rests.
    std::optional<std::int64_t> market_bound_cents;
    std::int64_t quantity = 0;
    std::int64_t filled_quantity = 0;
    std::int64_t filled_notional_cents = 0;
    exchange::OrderStatus status = exchange::OrderStatus::kNew;
    std::optional<std::string> reject_reason;
    std::string created_at;
};

struct TradeRecord {
    std::string trade_id;
    std::string symbol;
    std::int64_t price_cents = 0;
    std::int64_t quantity = 0;
    std::string buy_order_id;
    std::string sell_order_id;
    std::int64_t buyer_id = 0;
    std::int64_t seller_id = 0;
    exchange::Side aggressor_side = exchange::Side::kBuy;
    std::string executed_at;
    bool settled = false;
};

struct OrderManagerOptions {
    /// Order-less reservations older than this are released by the sweeper (an order whose
    /// block succeeded but whose INSERT never happened).
    std::chrono::seconds orphan_grace{30};
    std::chrono::milliseconds sweep_interval{1000};
    /// Every sweep_interval the sweeper publishes pending events; it looks for unsettled
    /// trades and releasable reservations (queries that read every open order of a symbol)
    /// only after a request left such work behind (a settlement, release or mark failed)
    /// and every `full_sweep_every`-th time for each symbol, the symbols in turn (reservations
    /// of orders never inserted, and of finished orders that a request left unreleased, are
    /// released then; a filled order's reservation is released by the settlement of its last
    /// trade).
    int full_sweep_every = 10;
    /// Prepended to the Redis channel names (FLOWEX_REDIS_PREFIX).
    std::string channel_prefix;
};

class OrderManager {
public:
    /// `relaxed_pg` (commits not waiting for the disk) takes only the marks a sweeper
    /// redoes after a crash: events published, trades settled.
    OrderManager(storage::PgPool& pg, storage::PgPool& relaxed_pg, storage::RedisClient& redis,
                 telemetry::Tracer tracer,
                 std::unique_ptr<service::Upstream> risk, std::unique_ptr<service::Upstream> wallet,
                 OrderManagerOptions options = {},
                 common::IdGenerator& ids = common::DefaultIdGenerator());

    void Register(http::Router& router);

    /// Loads instruments, rebuilds the books and finishes half-done work; until it has
    /// succeeded every order route answers 503 and /health reports "recovering". Retries
    /// while PostgreSQL or wallet-service are unavailable. Then runs the sweeper until Stop().
    http::awaitable<void> RecoverAndSweep();
    void Stop() noexcept { stopping_ = true; }
    bool ready() const noexcept { return ready_; }

    http::awaitable<http::Response> PlaceOrder(http::RequestContext& ctx);
    http::awaitable<http::Response> CancelOrder(http::RequestContext& ctx);
    http::awaitable<http::Response> GetOrder(http::RequestContext& ctx);
    http::awaitable<http::Response> ListOrders(http::RequestContext& ctx);
    http::awaitable<http::Response> OrderBook(http::RequestContext& ctx);
    http::awaitable<http::Response> Symbols(http::RequestContext& ctx);

private:
    struct LiveOrder {
        std::string order_id;
        std::int64_t user_id = 0;
    };
    struct MakerFill {
        std::string order_id;
        std::int64_t quantity = 0;
        std::int64_t notional = 0;
    };
    struct MatchOutcome {
        std::vector<TradeRecord> trades;
        std::vector<MakerFill> maker_fills;  // one per trade
        std::vector<std::pair<std::string, std::string>> events;  // (channel, payload)
        std::vector<std::int64_t> outbox_ids;
        bool taker_done = false;
    };

    /// An order waiting for its symbol's lock to be matched and recorded. Whoever holds the
    /// lock next records every order waiting then, in one commit (see RecordPending), and
    /// leaves each its result; an order whose result is set when it gets the lock is done.
    struct PendingOrder {
        OrderRecord* order;
        common::TraceContext parent;
        std::optional<common::Result<MatchOutcome>> result;
    };
    struct SymbolState {
        exchange::Instrument instrument;
        std::string name;
        matching::SymbolId book = 0;
        AsyncMutex mutex;
        std::unordered_map<std::int64_t, LiveOrder> live;  // resting orders by seq
        bool dirty = false;  // the book may disagree with the database: rebuild before use
        std::vector<PendingOrder*> pending;  // in arrival order (the mutex is FIFO too)
    };

    SymbolState* FindSymbol(std::string_view symbol);
    void AddLive(SymbolState& sym, std::int64_t seq, LiveOrder order);
    void EraseLive(SymbolState& sym, std::unordered_map<std::int64_t, LiveOrder>::iterator it);
    void ClearLive(SymbolState& sym);
    http::awaitable<common::Status> LoadInstruments(const common::TraceContext& parent);
    /// Rebuilds one book from the database (under its lock) and matches NEW orders.
    http::awaitable<common::Status> RebuildSymbol(SymbolState& sym, const common::TraceContext& parent);
    /// Settles unsettled trades older than `settle_grace` (younger ones are being settled by
    /// the requests that made them), then releases the reservations of finished orders whose
    /// trades are all settled. Needs no lock: trades are durable, settling is idempotent on the
    /// trade id, a finished order never trades again, and the wallet releases a reservation
    /// once (under its row lock) whoever else releases it at the same time.
    http::awaitable<common::Status> SweepFinished(SymbolState& sym,
                                                  const common::TraceContext& parent,
                                                  std::chrono::seconds settle_grace);
    /// Releases the reservations whose order was never inserted, `orphan_grace` after they
    /// were made. They are looked for without the symbol's lock (the query reads every open
    /// reservation of the symbol: tens of milliseconds with thousands resting); only when
    /// some are found is the lock taken, they are looked at again under it and released
    /// (`locked`: the caller holds it, so what was found is released as it is): an order is
    /// inserted only under the lock, and only while its reservation holds, so no insert can
    /// race the release.
    http::awaitable<common::Status> ReleaseOrphans(SymbolState& sym,
                                                   const common::TraceContext& parent, bool locked);
    /// One POST /release-funds per kReleaseBatch of `order_ids`.
    http::awaitable<common::Status> ReleaseMany(const std::vector<std::string>& order_ids,
                                                const common::TraceContext& parent);
    http::awaitable<void> PublishPending(const common::TraceContext& parent);

    /// The next order sequence number (from a block taken ahead); 0 when the database is
    /// unavailable. Numbers are handed out in increasing order.
    http::awaitable<std::int64_t> NextSeq(const common::TraceContext& parent);
    /// Matches `order` (its seq set) against the book in memory: trades, makers' fills, the
    /// order's status. Fails (marking the book dirty) when book and database disagree.
    common::Result<MatchOutcome> Match(SymbolState& sym, OrderRecord& order, telemetry::Span& span);
    /// Match, then persist the outcome in one batch (one round trip, one commit): the order —
    /// inserted with its outcome when `insert` (only while its reservation holds), else updated
    /// from NEW —, the trades, the makers' fills, the last price and the outbox events. On
    /// failure nothing is written and the book is marked dirty. Caller holds the lock.
    http::awaitable<common::Result<MatchOutcome>> MatchAndPersist(SymbolState& sym, OrderRecord& order,
                                                                  bool insert,
                                                                  const common::TraceContext& parent);
    /// MatchAndPersist's statements for one matched order, each with its span under `parent`.
    void AddRecordStatements(storage::PgBatch& batch, const OrderRecord& order, MatchOutcome& out,
                             bool insert, const common::TraceContext& parent);
    /// Reads back what the batch answered for those statements, from row `first` on.
    void ApplyRecorded(SymbolState& sym, OrderRecord& order, MatchOutcome& out, bool insert,
                       const std::vector<storage::PgRows>& rows, std::size_t first);
    /// Group commit. Records every order in `sym.pending` (the caller's among them), in
    /// arrival order: one alone as before (RecordOne); several matched one after another in
    /// memory and written in one batch — one round trip, one commit — so an order waiting
    /// for the lock behind others waits for one commit, not one each. If that batch fails
    /// (one order's client_order_id raced in, or its reservation was released), nothing of
    /// it was written: the book is rebuilt and each order is recorded alone, so each gets
    /// its own answer. Caller holds the lock.
    http::awaitable<void> RecordPending(SymbolState& sym);
    http::awaitable<void> RecordOne(SymbolState& sym, PendingOrder& p);
    /// Bookkeeping that a crash may lose (the sweeper then redoes idempotent work): trades
    /// settled in the wallet, outbox events published. Collected along a request and written
    /// in one round trip through the relaxed pool by WriteMarks.
    struct Marks {
        std::vector<std::string> settled_trades;
        std::vector<std::int64_t> published_events;
    };
    /// Settles the outcome's trades and, when the taker is done, releases its reservation in
    /// the same wallet commit. Needs no lock. Never fails: what cannot be done now is left
    /// to the sweeper.
    http::awaitable<void> SettleAndRelease(const OrderRecord& order, MatchOutcome& outcome,
                                           Marks& marks, const common::TraceContext& parent);
    /// Settles the unsettled ones of `trades` in order through wallet-service — one POST
    /// /settle (one commit) per kSettleBatch trades — and, with the last part, releases
    /// `release_order_id`'s reservation (none when empty). A part refused as not covered
    /// (500) is retried one trade at a time, so one bad trade holds back only those after
    /// it. Stops at the first failure.
    /// Returns whether everything was done; the settled trades are added to `marks`.
    http::awaitable<bool> SettleTrades(std::vector<TradeRecord>& trades,
                                       std::string_view release_order_id, Marks& marks,
                                       const common::TraceContext& parent);
    http::awaitable<bool> Release(const std::string& order_id, const common::TraceContext& parent);
    /// Publishes the events to Redis; the outbox ids of the published ones go to `marks`.
    http::awaitable<void> Publish(std::vector<std::pair<std::string, std::string>> events,
                                  std::vector<std::int64_t> outbox_ids, Marks& marks,
                                  const common::TraceContext& parent);
    http::awaitable<void> WriteMarks(Marks& marks, const common::TraceContext& parent);
    /// Publish, then QueueMarks — started after a request's answer (co_spawn, detached): the
    /// client need not wait for Redis or for bookkeeping the outbox and the sweeper redo
    /// after a crash. Parameters by value: the coroutine outlives the request.
    http::awaitable<void> PublishAndMark(std::vector<std::pair<std::string, std::string>> events,
                                         std::vector<std::int64_t> outbox_ids, Marks marks,
                                         common::TraceContext parent);
    /// Queues an answered request's marks: FlushMarks writes all that were queued in one
    /// relaxed round trip, kMarkDelay after the first of them. One round trip (and one plan of
    /// each UPDATE) per batch instead of per request; a crash loses at most kMarkDelay of
    /// marks, which the sweeper redoes like any lost mark.
    void QueueMarks(Marks marks, const common::TraceContext& parent,
                    const boost::asio::any_io_executor& executor);
    http::awaitable<void> FlushMarks();

    http::awaitable<common::Result<std::optional<OrderRecord>>> LoadOrder(
        const common::TraceContext& parent, std::string_view order_id);
    http::awaitable<common::Result<std::optional<OrderRecord>>> LoadByClientId(
        const common::TraceContext& parent, std::int64_t user_id, std::string_view client_order_id);
    http::awaitable<common::Result<std::vector<TradeRecord>>> LoadTrades(
        const common::TraceContext& parent, std::string_view order_id);
    /// Stores a rejected order (risk or funds) so a replayed client_order_id answers the same.
    http::awaitable<void> StoreRejected(OrderRecord order, const common::TraceContext& parent);
    /// The order's JSON with its trades (from the order's side), and status code.
    http::Response OrderResponse(int status, const OrderRecord& order,
                                 const std::vector<TradeRecord>& trades) const;
    /// The answer to a replayed client_order_id: the stored order, or its stored rejection.
    http::awaitable<http::Response> Replay(http::RequestContext& ctx, const OrderRecord& order,
                                           const common::TraceContext& parent);

    storage::PgPool& pg_;
    storage::PgPool& relaxed_pg_;
    storage::RedisClient& redis_;
    telemetry::Tracer tracer_;
    std::unique_ptr<service::Upstream> risk_;
    std::unique_ptr<service::Upstream> wallet_;
    OrderManagerOptions options_;
    common::IdGenerator& ids_;
    matching::MatchingEngine engine_;
    telemetry::metrics::Histogram& orders_per_commit_;
    telemetry::metrics::Gauge& orders_waiting_;  // in every symbol's pending queue
    telemetry::metrics::Counter& group_commits_failed_;
    std::map<std::string, std::unique_ptr<SymbolState>, std::less<>> symbols_;
    /// Resting orders per user over every symbol, for risk-manager's open-order limit (sent
    /// with each /validate, so that it need not count them in PostgreSQL). Kept in step with
    /// each SymbolState::live by AddLive, EraseLive and ClearLive, its only writers.
    std::unordered_map<std::int64_t, std::int64_t> open_orders_;
    static constexpr std::int64_t kSeqBlock = 64;
    static constexpr std::chrono::seconds kSettleGrace{2};
    static constexpr std::size_t kSettleBatch = 64;  // wallet-service's most per POST /settle
    static constexpr std::size_t kReleaseBatch = 256;  // … per POST /release-funds {order_ids}
    static constexpr std::chrono::milliseconds kMarkDelay{20};
    static constexpr std::size_t kMarkLinks = 64;  // requests linked from one write_marks span
    Marks queued_marks_;
    std::vector<common::TraceContext> queued_mark_parents_;
    std::size_t queued_mark_requests_ = 0;
    bool marks_flush_pending_ = false;
    std::deque<std::int64_t> next_seqs_;
    AsyncMutex seq_mutex_;
    bool ready_ = false;
    bool stopping_ = false;
    /// A request left work behind: sweep every symbol fully for this many more rounds (long
    /// enough for its trades to pass kSettleGrace).
    int full_sweeps_wanted_ = 0;
    void WantSweep() noexcept;
};

}  // namespace flowex::orders
