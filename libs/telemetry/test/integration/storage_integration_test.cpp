// libs/storage wiring: the DbObserver turns PostgreSQL queries and Redis commands into spans.
#include <gtest/gtest.h>

#include "flowex/telemetry/instrumentation/storage_observer.hpp"
#include "flowex/telemetry/instrumentation/trace_context_bridge.hpp"
#include "../test_util.hpp"

namespace flowex::telemetry {
namespace {

TEST(TelemetryStorageIntegration, PostgresQueryBecomesClientSpanUnderTheRequest) {
    testing::TestProvider tp;
    auto observer = StorageObserver(tp.GetTracer());
    Span request = tp.GetTracer().StartSpan("POST /block-funds", {.kind = SpanKind::kServer});
    const common::TraceContext parent = ToTraceContext(request.GetContext());
    const std::string sql = "UPDATE wallets SET blocked_balance = blocked_balance + $1 WHERE user_id = $2";
    storage::DbCallInfo info{.system = "postgresql", .operation = "UPDATE", .collection = "wallets",
                             .query_text = sql, .db_name = "stockexchange",
                             .server_address = "127.0.0.1", .server_port = 5432, .parent = &parent};
    auto scope = observer->OnStart(info);
    ASSERT_NE(scope, nullptr);
    scope->End({.ok = true, .rows = 1});
    auto failing = observer->OnStart(info);
    failing->End({.ok = false, .code = common::ErrorCode::kConflict, .error_type = "23505",
                  .message = "duplicate key"});
    request.End();
    const auto spans = tp.storage->Spans();
    ASSERT_EQ(spans.size(), 3u);
    const auto& db = spans[0];
    EXPECT_EQ(db.name, "UPDATE wallets");
    EXPECT_EQ(db.kind, SpanKind::kClient);
    EXPECT_EQ(db.parent_span_id, request.GetContext().GetSpanId());
    EXPECT_EQ(std::get<std::string>(*db.attributes.Find("db.system.name")), "postgresql");
    EXPECT_EQ(std::get<std::string>(*db.attributes.Find("db.query.text")), sql);
    EXPECT_EQ(std::get<std::string>(*db.attributes.Find("db.namespace")), "stockexchange");
    EXPECT_EQ(std::get<std::string>(*db.attributes.Find("service.peer.name")), "postgresql");
    EXPECT_EQ(std::get<std::string>(*db.attributes.Find("peer.service")), "postgresql");
    EXPECT_EQ(std::get<std::int64_t>(*db.attributes.Find("server.port")), 5432);
    EXPECT_EQ(spans[1].status_code, StatusCode::kError);
    EXPECT_EQ(std::get<std::string>(*spans[1].attributes.Find("error.type")), "23505");
}

TEST(TelemetryStorageIntegration, RedisCommandsAndPublish) {
    testing::TestProvider tp;
    auto observer = StorageObserver(tp.GetTracer());
    Span request = tp.GetTracer().StartSpan("create_order");
    const common::TraceContext parent = ToTraceContext(request.GetContext());
    observer->OnStart({.system = "redis", .operation = "GET", .query_text = "GET", .db_name = "0",
                       .server_address = "127.0.0.1", .server_port = 6379, .parent = &parent})
        ->End({});
    observer->OnStart({.system = "redis", .operation = "PUBLISH", .query_text = "PUBLISH",
                       .channel = "orders", .db_name = "0", .parent = &parent})
        ->End({});
    request.End();
    const auto spans = tp.storage->Spans();
    ASSERT_EQ(spans.size(), 3u);
    EXPECT_EQ(spans[0].name, "GET");
    EXPECT_EQ(std::get<std::string>(*spans[0].attributes.Find("db.system.name")), "redis");
    EXPECT_EQ(std::get<std::string>(*spans[0].attributes.Find("service.peer.name")), "redis");
    EXPECT_EQ(spans[1].name, "publish_event");
    EXPECT_EQ(spans[1].kind, SpanKind::kProducer);
    EXPECT_EQ(std::get<std::string>(*spans[1].attributes.Find("db.operation.name")), "PUBLISH");
    EXPECT_EQ(std::get<std::string>(*spans[1].attributes.Find("channel")), "orders");
}

TEST(TelemetryStorageIntegration, UnsampledParentIsNotObserved) {
    testing::TestProvider tp(sdk::ParentBasedSampler(sdk::AlwaysOnSampler()));
    auto observer = StorageObserver(tp.GetTracer());
    common::TraceContext parent;
    parent.trace_id[0] = 1;
    parent.span_id[0] = 1;
    parent.flags = 0;
    EXPECT_EQ(observer->OnStart({.system = "postgresql", .operation = "SELECT", .parent = &parent}),
              nullptr);
}

}  // namespace
}  // namespace flowex::telemetry
