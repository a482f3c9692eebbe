#include "flowex/telemetry/instrumentation/storage_observer.hpp"

#include <string>

#include "flowex/telemetry/instrumentation/trace_context_bridge.hpp"
#include "flowex/telemetry/instrumentation/instrumentation.hpp"

namespace flowex::telemetry {
namespace {

class DbScope final : public storage::DbCallScope {
public:
    explicit DbScope(Span span) : span_(std::move(span)) {}
    void End(const storage::DbOutcome& outcome) noexcept override {
        if (!outcome.ok) {
            const std::string_view type = outcome.error_type.empty()
                                              ? common::ToString(outcome.code)
                                              : outcome.error_type;
            span_.MarkError(type, outcome.message);
        } else if (outcome.rows >= 0) {
            span_.SetAttribute("db.response.returned_rows", outcome.rows);
        }
        span_.End();
    }

private:
    Span span_;
};

class Observer final : public storage::DbObserver {
public:
    explicit Observer(Tracer tracer) : tracer_(tracer) {}

    std::unique_ptr<storage::DbCallScope> OnStart(const storage::DbCallInfo& info) noexcept override {
        try {
            const Context parent(FromTraceContext(*info.parent));
            Span span;
            if (info.system == "redis") {
                const bool publish = info.operation == "PUBLISH";
                span = instrumentation::StartRedisSpan(
                    tracer_, parent,
                    {.operation = info.operation,
                     .span_name = publish ? std::string_view("publish_event") : std::string_view(),
                     .channel = info.channel,
                     .server_address = info.server_address,
                     .server_port = info.server_port,
                     .kind = publish ? SpanKind::kProducer : SpanKind::kClient});
            } else {
                span = instrumentation::StartPostgresSpan(
                    tracer_, parent,
                    {.operation = info.operation, .table = info.collection,
                     .query_text = info.query_text, .db_namespace = info.db_name,
                     .server_address = info.server_address, .server_port = info.server_port});
            }
            if (!span.IsRecording()) {
                return nullptr;
            }
            return std::make_unique<DbScope>(std::move(span));
        } catch (...) {
            return nullptr;
        }
    }

private:
    Tracer tracer_;
};

}  // namespace

std::shared_ptr<storage::DbObserver> StorageObserver(Tracer tracer) {
    return std::make_shared<Observer>(tracer);
}

}  // namespace flowex::telemetry
