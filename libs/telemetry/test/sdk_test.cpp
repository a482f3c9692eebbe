#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <condition_variable>
#include <cstring>
#include <thread>

#include "flowex/telemetry/api/propagation.hpp"
#include "flowex/telemetry/api/trace.hpp"
#include "flowex/telemetry/exporters/in_memory.hpp"
#include "flowex/telemetry/sdk/processor.hpp"
#include "flowex/telemetry/sdk/resource.hpp"
#include "flowex/telemetry/sdk/tracer_provider.hpp"
#include "test_util.hpp"

namespace flowex::telemetry {
namespace {

using testing::TestProvider;

TEST(TelemetryTracer, RecordsAttributesEventsLinksAndStatus) {
    TestProvider tp;
    Tracer tracer = tp.GetTracer();
    SpanContext linked(TraceId{{1, 2, 3}}, SpanId{{4, 5}}, TraceFlags{1}, true);
    {
        Span span = tracer.StartSpan("place_order", {.kind = SpanKind::kServer});
        span.SetAttribute("symbol", "AAPL");
        span.SetAttribute("user_id", 11);
        span.SetAttribute("price", 155.25);
        span.SetAttribute("ok", true);
        span.SetAttribute("symbol", std::string("MSFT"));  // overwrite
        const std::int64_t qty[] = {1, 2, 3};
        span.SetAttribute("qty", std::span<const std::int64_t>(qty));
        span.AddEvent("validated", {{"result", "accepted"}});
        span.AddLink(linked);
        span.RecordException("InsufficientFunds", "needs $776.25");
        span.SetStatus(StatusCode::kError, "boom");
    }  // ends on destruction
    const auto spans = tp.storage->Spans();
    ASSERT_EQ(spans.size(), 1u);
    const auto& s = spans[0];
    EXPECT_EQ(s.name, "place_order");
    EXPECT_EQ(s.kind, SpanKind::kServer);
    EXPECT_FALSE(s.parent_span_id.IsValid());
    ASSERT_EQ(s.attributes.size(), 5u);
    EXPECT_EQ(std::get<std::string>(*s.attributes.Find("symbol")), "MSFT");
    EXPECT_EQ(std::get<std::int64_t>(*s.attributes.Find("user_id")), 11);
    EXPECT_DOUBLE_EQ(std::get<double>(*s.attributes.Find("price")), 155.25);
    EXPECT_EQ(std::get<bool>(*s.attributes.Find("ok")), true);
    EXPECT_EQ(std::get<std::vector<std::int64_t>>(*s.attributes.Find("qty")).size(), 3u);
    ASSERT_EQ(s.events.size(), 2u);
    EXPECT_EQ(s.events[1].name, "exception");
    EXPECT_EQ(std::get<std::string>(*s.events[1].attributes.Find("exception.type")),
              "InsufficientFunds");
    EXPECT_EQ(std::get<std::string>(*s.events[1].attributes.Find("exception.message")),
              "needs $776.25");
    ASSERT_EQ(s.links.size(), 1u);
    EXPECT_EQ(s.links[0].context.GetTraceId(), linked.GetTraceId());
    EXPECT_EQ(s.status_code, StatusCode::kError);
    EXPECT_EQ(s.status_message, "boom");
    EXPECT_LE(s.start_time_unix_nano, s.end_time_unix_nano);
    EXPECT_EQ(s.resource->GetString("service.name"), "test-service");
    EXPECT_EQ(s.scope->name, "flowex.test");
}

TEST(TelemetryTracer, ChildrenShareTraceAndPointAtParent) {
    TestProvider tp;
    Tracer tracer = tp.GetTracer();
    Span parent = tracer.StartSpan("parent");
    const Context ctx = parent.MakeContext(Context());
    Span child = tracer.StartSpan("child", {.parent = &ctx});
    {
        ScopedContext scope(child.MakeContext(ctx));
        Span grandchild = tracer.StartSpan("grandchild");  // from the thread-local context
        EXPECT_EQ(grandchild.GetContext().GetTraceId(), parent.GetContext().GetTraceId());
    }
    EXPECT_FALSE(Context::Current().GetSpanContext().IsValid());  // restored
    Span root = tracer.StartSpan("root", {.parent = &ctx, .root = true});
    root.End();
    child.End();
    parent.End();
    const auto spans = tp.storage->Spans();
    ASSERT_EQ(spans.size(), 4u);
    EXPECT_EQ(spans[0].name, "grandchild");
    EXPECT_EQ(spans[0].parent_span_id, child.GetContext().GetSpanId());
    EXPECT_EQ(spans[2].name, "child");
    EXPECT_EQ(spans[2].parent_span_id, parent.GetContext().GetSpanId());
    EXPECT_EQ(spans[2].trace_id, parent.GetContext().GetTraceId());
    EXPECT_EQ(spans[1].name, "root");
    EXPECT_NE(spans[1].trace_id, parent.GetContext().GetTraceId());
}

TEST(TelemetryTracer, StatusRulesOkIsFinalUnsetNeverOverrides) {
    TestProvider tp;
    Tracer tracer = tp.GetTracer();
    {
        Span a = tracer.StartSpan("a");
        a.SetStatus(StatusCode::kOk, "ignored");
        a.SetStatus(StatusCode::kError, "late");
        Span b = tracer.StartSpan("b");
        b.SetStatus(StatusCode::kError, "bad");
        b.SetStatus(StatusCode::kUnset);
    }
    const auto spans = tp.storage->Spans();
    ASSERT_EQ(spans.size(), 2u);
    EXPECT_EQ(spans[1].status_code, StatusCode::kOk);
    EXPECT_EQ(spans[1].status_message, "");
    EXPECT_EQ(spans[0].status_code, StatusCode::kError);
    EXPECT_EQ(spans[0].status_message, "bad");
}

TEST(TelemetryTracer, SpanLimitsDropAndCount) {
    sdk::SpanLimits limits;
    limits.attribute_count_limit = 2;
    limits.attribute_value_length_limit = 4;
    limits.event_count_limit = 1;
    TestProvider tp(sdk::AlwaysOnSampler(), limits);
    {
        Span s = tp.GetTracer().StartSpan("limited");
        s.SetAttribute("a", "123456");
        s.SetAttribute("b", 1);
        s.SetAttribute("c", 2);
        s.AddEvent("e1");
        s.AddEvent("e2");
    }
    const auto spans = tp.storage->Spans();
    ASSERT_EQ(spans.size(), 1u);
    EXPECT_EQ(spans[0].attributes.size(), 2u);
    EXPECT_EQ(spans[0].dropped_attributes_count, 1u);
    EXPECT_EQ(std::get<std::string>(*spans[0].attributes.Find("a")), "1234");
    EXPECT_EQ(spans[0].events.size(), 1u);
    EXPECT_EQ(spans[0].dropped_events_count, 1u);
}

constexpr std::size_t kNoLimit = 128;

std::int64_t IntOf(const sdk::AttributeList& list, std::string_view key) {
    const sdk::OwnedValue* v = list.Find(key);
    return v != nullptr ? std::get<std::int64_t>(*v) : -1;
}

TEST(TelemetryAttributeList, EqualKeysFromDifferentBuffersAreOneAttribute) {
    sdk::AttributeList list;
    std::string first = "http.request.method";
    std::string second = first;  // same text, another buffer
    list.Set(first, AttributeValue(std::int64_t{1}), kNoLimit, 0);
    list.Set(second, AttributeValue(std::int64_t{2}), kNoLimit, 0);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(IntOf(list, "http.request.method"), 2);
    // Interned: both texts map to one copy, which outlives the callers' buffers.
    EXPECT_EQ(sdk::AttributeKey::Intern(first), sdk::AttributeKey::Intern(second));
    first.assign(first.size(), 'x');
    EXPECT_EQ(list[0].key.view(), "http.request.method");
}

TEST(TelemetryAttributeList, NewTextAtAReusedAddressIsANewKey) {
    sdk::AttributeList list;
    char buffer[] = "key.one";
    list.Set(buffer, AttributeValue(std::int64_t{1}), kNoLimit, 0);
    std::memcpy(buffer, "key.two", sizeof(buffer));  // same address and length, other text
    list.Set(buffer, AttributeValue(std::int64_t{2}), kNoLimit, 0);
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(IntOf(list, "key.one"), 1);
    EXPECT_EQ(IntOf(list, "key.two"), 2);
}

TEST(TelemetryAttributeList, ReusedBufferDiffersFromTheCachedTextAtAnyByte) {
    // The per-thread cache compares the caller's text with the interned one (inline up to 32
    // bytes): a change at the first, middle or last byte, at every length, is a new key.
    for (std::size_t n = 1; n <= 40; ++n) {
        for (const std::size_t pos : {std::size_t{0}, n / 2, n - 1}) {
            std::string buffer(n, 'a');
            buffer[0] = static_cast<char>('A' + n % 26);  // a fresh text for every length
            const char* before = sdk::AttributeKey::Intern(buffer);
            buffer[pos] = '#';
            const char* after = sdk::AttributeKey::Intern(buffer);
            ASSERT_NE(after, nullptr);
            EXPECT_NE(after, before) << "length " << n << ", byte " << pos;
            EXPECT_EQ(std::string_view(after, n), buffer);
        }
    }
}

TEST(TelemetryAttributeList, AReusedSlotTakesANewValueOfTheSameLength) {
    // A cleared list keeps its slots; a string value of the slot's length is copied in place.
    sdk::AttributeList list;
    for (std::size_t n = 1; n <= 40; ++n) {
        list.Clear();
        list.Set("v", AttributeValue(std::string(n, 'a')), kNoLimit, 0);
        std::string next(n, 'b');
        for (std::size_t i = 0; i < n; ++i) {
            next[i] = static_cast<char>('b' + i % 20);
        }
        list.Clear();
        list.Set("v", AttributeValue(next), kNoLimit, 0);
        ASSERT_EQ(list.size(), 1u);
        EXPECT_EQ(std::get<std::string>(*list.Find("v")), next) << "length " << n;
    }
}

TEST(TelemetryAttributeList, KeysTooLongToInternAreOwnedCopies) {
    const std::string long_key(sdk::AttributeKey::kMaxInternedKeySize + 1, 'k');
    EXPECT_EQ(sdk::AttributeKey::Intern(long_key), nullptr);
    sdk::AttributeList copy;
    {
        sdk::AttributeList list;
        std::string text = long_key;
        list.Set(text, AttributeValue(std::int64_t{1}), kNoLimit, 0);
        list.Set(std::string(long_key), AttributeValue(std::int64_t{2}), kNoLimit, 0);
        list.Set("short", AttributeValue(std::int64_t{3}), kNoLimit, 0);
        ASSERT_EQ(list.size(), 2u);
        text.assign(text.size(), 'x');
        copy = list;
    }  // the list and its owned key are gone; the copy has its own
    ASSERT_EQ(copy.size(), 2u);
    EXPECT_EQ(IntOf(copy, long_key), 2);
    EXPECT_EQ(IntOf(copy, "short"), 3);
    sdk::AttributeList moved = std::move(copy);
    EXPECT_EQ(IntOf(moved, long_key), 2);
}

// Filling the intern table is for good, so it runs in a child process (a death test that
// exits normally).
TEST(TelemetryAttributeListDeathTest, KeysStayCorrectOnceTheInternTableIsFull) {
    EXPECT_EXIT(
        {
            sdk::AttributeList list;
            for (std::size_t i = 0; i <= sdk::AttributeKey::kMaxInternedKeys; ++i) {
                list.Clear();
                list.Set("filler." + std::to_string(i), AttributeValue(true), kNoLimit, 0);
            }
            const std::string fresh = "never.seen.before";
            if (sdk::AttributeKey::Intern(fresh) != nullptr) {
                std::exit(1);  // the table should have refused it
            }
            list.Clear();
            list.Set(fresh, AttributeValue(std::int64_t{1}), kNoLimit, 0);
            list.Set(std::string(fresh), AttributeValue(std::int64_t{2}), kNoLimit, 0);
            list.Set("filler.7", AttributeValue(std::int64_t{3}), kNoLimit, 0);  // interned
            const bool ok = list.size() == 2 && IntOf(list, fresh) == 2 &&
                            IntOf(list, "filler.7") == 3;
            std::exit(ok ? 0 : 2);
        },
        ::testing::ExitedWithCode(0), "");
}

TEST(TelemetryTracer, DisabledSdkIsNoopButPropagatesParent) {
    sdk::TracerProviderOptions o;
    o.disabled = true;
    sdk::TracerProvider provider(std::move(o));
    Tracer tracer = provider.GetTracer("x");
    EXPECT_TRUE(tracer.IsNoop());
    const auto parent = SpanContext(TraceId{{9}}, SpanId{{8}}, TraceFlags{1}, true);
    const Context ctx(parent);
    Span s = tracer.StartSpan("op", {.parent = &ctx});
    EXPECT_FALSE(s.IsRecording());
    EXPECT_EQ(s.GetContext().GetTraceId(), parent.GetTraceId());
    s.SetAttribute("k", "v");  // harmless
    EXPECT_TRUE(Tracer().StartSpan("noop").GetContext().GetTraceId() == TraceId{});
}

TEST(TelemetryTracer, GlobalProviderDefaultsToNoop) {
    EXPECT_TRUE(GetTracer("anything").IsNoop());
}

TEST(TelemetrySampler, AlwaysOffDoesNotRecordButGivesIds) {
    TestProvider tp(sdk::AlwaysOffSampler());
    Span s = tp.GetTracer().StartSpan("op");
    EXPECT_FALSE(s.IsRecording());
    EXPECT_TRUE(s.GetContext().IsValid());
    EXPECT_FALSE(s.GetContext().IsSampled());
    s.End();
    EXPECT_EQ(tp.storage->Size(), 0u);
}

TEST(TelemetrySampler, TraceIdRatioIsStatisticallyRight) {
    for (const double ratio : {0.1, 0.25, 0.5}) {
        TestProvider tp(sdk::TraceIdRatioSampler(ratio));
        Tracer tracer = tp.GetTracer();
        constexpr int kN = 40000;
        int sampled = 0;
        for (int i = 0; i < kN; ++i) {
            Span s = tracer.StartSpan("op", {.root = true});
            sampled += s.GetContext().IsSampled() ? 1 : 0;
        }
        const double expected = kN * ratio;
        const double sd = std::sqrt(kN * ratio * (1 - ratio));
        EXPECT_NEAR(sampled, expected, 5 * sd) << "ratio " << ratio;
        EXPECT_EQ(tp.storage->Size(), static_cast<std::size_t>(sampled));
    }
}

TEST(TelemetrySampler, RatioDecisionIsDeterministicPerTraceId) {
    auto sampler = sdk::TraceIdRatioSampler(0.5);
    TraceId low;
    low.bytes[8] = 0x10;  // last 8 bytes small → sampled
    TraceId high;
    high.bytes[8] = 0xf0;
    EXPECT_EQ(sampler->ShouldSample({}, low, "a", SpanKind::kInternal),
              sdk::SamplingDecision::kRecordAndSample);
    EXPECT_EQ(sampler->ShouldSample({}, high, "a", SpanKind::kInternal),
              sdk::SamplingDecision::kDrop);
    EXPECT_EQ(sdk::TraceIdRatioSampler(0.0)->ShouldSample({}, low, "a", SpanKind::kInternal),
              sdk::SamplingDecision::kDrop);
}

TEST(TelemetrySampler, ParentBasedFollowsParent) {
    auto sampler = sdk::ParentBasedSampler(sdk::AlwaysOffSampler());
    const TraceId t{{1}};
    const SpanContext sampled(t, SpanId{{1}}, TraceFlags{1}, true);
    const SpanContext unsampled(t, SpanId{{1}}, TraceFlags{0}, false);
    EXPECT_EQ(sampler->ShouldSample(sampled, t, "a", SpanKind::kServer),
              sdk::SamplingDecision::kRecordAndSample);
    EXPECT_EQ(sampler->ShouldSample(unsampled, t, "a", SpanKind::kServer),
              sdk::SamplingDecision::kDrop);
    EXPECT_EQ(sampler->ShouldSample({}, t, "a", SpanKind::kServer), sdk::SamplingDecision::kDrop);
}

TEST(TelemetrySampler, FromEnv) {
    EXPECT_EQ(sdk::SamplerFromEnv(MapEnv({}))->Description(), "ParentBased{root=AlwaysOnSampler}");
    EXPECT_EQ(sdk::SamplerFromEnv(MapEnv({{"OTEL_TRACES_SAMPLER", "always_off"}}))->Description(),
              "AlwaysOffSampler");
    EXPECT_EQ(sdk::SamplerFromEnv(MapEnv({{"OTEL_TRACES_SAMPLER", "parentbased_traceidratio"},
                                          {"OTEL_TRACES_SAMPLER_ARG", "0.25"}}))
                  ->Description(),
              "ParentBased{root=TraceIdRatioBased{0.25}}");
    // What is not a whole ratio from 0 to 1 samples everything (and is logged), as is unset.
    for (const char* arg : {"0.25abc", "1.5", "-0.1", "nan", "half"}) {
        EXPECT_EQ(sdk::SamplerFromEnv(MapEnv({{"OTEL_TRACES_SAMPLER", "traceidratio"},
                                              {"OTEL_TRACES_SAMPLER_ARG", arg}}))
                      ->Description(),
                  "TraceIdRatioBased{1}")
            << arg;
    }
    EXPECT_EQ(
        sdk::SamplerFromEnv(MapEnv({{"OTEL_TRACES_SAMPLER", "traceidration"}}))->Description(),
        "ParentBased{root=AlwaysOnSampler}");
}

// What spdlog's default logger writes while it lives (the SDK reports configuration there).
class CapturedWarnings {
public:
    CapturedWarnings() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64)) {
        spdlog::default_logger()->sinks().push_back(sink_);
    }
    ~CapturedWarnings() { spdlog::default_logger()->sinks().pop_back(); }
    CapturedWarnings(const CapturedWarnings&) = delete;
    CapturedWarnings& operator=(const CapturedWarnings&) = delete;
    std::string All() const {
        std::string all;
        for (const auto& line : sink_->last_formatted()) { all += line; }
        return all;
    }

private:
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

// The specification: an OTEL_* value the SDK cannot use is logged, then the default applies.
TEST(TelemetryEnv, ValuesThatCannotBeUsedAreLoggedByName) {
    CapturedWarnings log;
    (void)sdk::SamplerFromEnv(MapEnv({{"OTEL_TRACES_SAMPLER", "traceidration"}}));
    (void)sdk::SamplerFromEnv(
        MapEnv({{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "half"}}));
    (void)MakePropagator("tracecontext,b3");
    (void)sdk::BatchOptionsFromEnv(MapEnv({{"OTEL_BSP_SCHEDULE_DELAY", "99999999999999999"}}));
    const std::string all = log.All();
    EXPECT_NE(all.find("OTEL_TRACES_SAMPLER=traceidration"), std::string::npos) << all;
    EXPECT_NE(all.find("OTEL_TRACES_SAMPLER_ARG=half"), std::string::npos) << all;
    EXPECT_NE(all.find("OTEL_PROPAGATORS names 'b3'"), std::string::npos) << all;
    EXPECT_NE(all.find("OTEL_BSP_SCHEDULE_DELAY=99999999999999999"), std::string::npos) << all;
    // Values it can use, and an argument no sampler reads, are not worth a line.
    CapturedWarnings quiet;
    (void)sdk::SamplerFromEnv(MapEnv(
        {{"OTEL_TRACES_SAMPLER", "parentbased_always_on"}, {"OTEL_TRACES_SAMPLER_ARG", "half"}}));
    (void)MakePropagator("tracecontext, baggage");
    (void)sdk::BatchOptionsFromEnv(MapEnv({{"OTEL_BSP_SCHEDULE_DELAY", "200"}}));
    EXPECT_EQ(quiet.All(), "");
}

TEST(TelemetryResource, FromEnvHonoursServiceNameAndResourceAttributes) {
    const auto r = sdk::ResourceFromEnv(
        MapEnv({{"OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=dev,team=a%20b"},
                {"OTEL_SERVICE_NAME", "order-manager"}}),
        {"default-name", "0.1.0"});
    EXPECT_EQ(r->GetString("service.name"), "order-manager");
    EXPECT_EQ(r->GetString("service.version"), "0.1.0");
    EXPECT_EQ(r->GetString("deployment.environment"), "dev");
    EXPECT_EQ(r->GetString("team"), "a b");
    EXPECT_EQ(r->GetString("telemetry.sdk.language"), "cpp");
    EXPECT_EQ(r->GetString("service.instance.id").size(), 36u);
    EXPECT_FALSE(r->GetString("host.name").empty());
}

TEST(TelemetryBatchProcessor, OptionsFromEnv) {
    const auto o = sdk::BatchOptionsFromEnv(MapEnv({{"OTEL_BSP_MAX_QUEUE_SIZE", "100"},
                                                    {"OTEL_BSP_SCHEDULE_DELAY", "250"},
                                                    {"OTEL_BSP_EXPORT_TIMEOUT", "1000"},
                                                    {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "500"}}));
    EXPECT_EQ(o.max_queue_size, 100u);
    EXPECT_EQ(o.schedule_delay.count(), 250);
    EXPECT_EQ(o.export_timeout.count(), 1000);
    EXPECT_EQ(o.max_export_batch_size, 100u);  // clamped to the queue
    const auto d = sdk::BatchOptionsFromEnv(MapEnv({}));
    EXPECT_EQ(d.max_queue_size, 2048u);
    EXPECT_EQ(d.schedule_delay.count(), 5000);
    EXPECT_EQ(d.export_timeout.count(), 30000);
    EXPECT_EQ(d.max_export_batch_size, 512u);
}

// A mistyped OTEL_BSP_* value must not take a service down: a queue size too large to
// allocate, or a delay whose nanoseconds overflow once added to the clock, is clamped (the
// queue's cells are allocated up front: 10^12 of them used to end the process in bad_alloc).
TEST(TelemetryBatchProcessor, OptionsFromEnvClampWhatCouldNotWork) {
    const auto o =
        sdk::BatchOptionsFromEnv(MapEnv({{"OTEL_BSP_MAX_QUEUE_SIZE", "1000000000000"},
                                         {"OTEL_BSP_SCHEDULE_DELAY", "99999999999999999"},
                                         {"OTEL_BSP_EXPORT_TIMEOUT", "99999999999999999999999"},
                                         {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1000000000000"}}));
    EXPECT_EQ(o.max_queue_size, static_cast<std::size_t>(kMaxEnvQueueSize));
    EXPECT_EQ(o.max_export_batch_size, static_cast<std::size_t>(kMaxEnvQueueSize));
    EXPECT_EQ(o.schedule_delay, kMaxEnvMillis);
    EXPECT_EQ(o.export_timeout, kMaxEnvMillis);
    auto storage = std::make_shared<exporters::InMemorySpanStorage>();
    sdk::TracerProviderOptions po;
    po.sampler = sdk::AlwaysOnSampler();
    po.processor = std::make_unique<sdk::BatchSpanProcessor>(
        std::make_unique<exporters::InMemorySpanExporter>(storage), o);
    sdk::TracerProvider provider(std::move(po));
    provider.GetTracer("t").StartSpan("op").End();
    ASSERT_TRUE(provider.ForceFlush(std::chrono::seconds(10)));
    EXPECT_EQ(storage->Size(), 1u);
    // Negative or unreadable values keep the defaults, as before.
    const auto d =
        sdk::BatchOptionsFromEnv(MapEnv({{"OTEL_BSP_MAX_QUEUE_SIZE", "-99999999999999999999"},
                                         {"OTEL_BSP_SCHEDULE_DELAY", "soon"}}));
    EXPECT_EQ(d.max_queue_size, 2048u);
    EXPECT_EQ(d.schedule_delay.count(), 5000);
}

// An exporter that blocks until released: the worker is stuck, the queue fills.
class GateExporter final : public sdk::SpanExporter {
public:
    sdk::ExportResult Export(std::span<const sdk::SpanData* const> spans) noexcept override {
        std::unique_lock lock(mutex_);
        ++calls_;
        entered_cv_.notify_all();
        cv_.wait(lock, [&] { return open_; });
        exported_ += spans.size();
        return sdk::ExportResult::kSuccess;
    }
    void Open() {
        std::lock_guard lock(mutex_);
        open_ = true;
        cv_.notify_all();
    }
    void WaitEntered() {
        std::unique_lock lock(mutex_);
        entered_cv_.wait(lock, [&] { return calls_ > 0; });
    }
    std::size_t Exported() {
        std::lock_guard lock(mutex_);
        return exported_;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::condition_variable entered_cv_;
    bool open_ = false;
    int calls_ = 0;
    std::size_t exported_ = 0;
};

TEST(TelemetryBatchProcessor, DropsAndCountsWhenExporterIsSlowAndNeverBlocks) {
    auto gate = std::make_unique<GateExporter>();
    GateExporter* g = gate.get();
    sdk::TracerProviderOptions o;
    o.sampler = sdk::AlwaysOnSampler();
    o.processor = std::make_unique<sdk::BatchSpanProcessor>(
        std::move(gate), sdk::BatchOptions{.max_queue_size = 8,
                                           .schedule_delay = std::chrono::milliseconds(10),
                                           .export_timeout = std::chrono::milliseconds(30000),
                                           .max_export_batch_size = 4});
    sdk::TracerProvider provider(std::move(o));
    Tracer tracer = provider.GetTracer("t");
    // Fill a first batch and wait until the worker is stuck inside Export.
    for (int i = 0; i < 4; ++i) {
        tracer.StartSpan("warm").End();
    }
    g->WaitEntered();
    // The worker is blocked: these 1000 ends must all return (a blocking End would hang here).
    constexpr int kN = 1000;
    for (int i = 0; i < kN; ++i) {
        tracer.StartSpan("op").End();
    }
    const auto stats = provider.Stats();
    EXPECT_EQ(stats.spans_started, static_cast<std::uint64_t>(kN + 4));
    EXPECT_GE(stats.processor.dropped, static_cast<std::uint64_t>(kN - 8));
    EXPECT_LE(stats.processor.queue_size, 8u);
    g->Open();
    ASSERT_TRUE(provider.ForceFlush(std::chrono::seconds(10)));
    const auto after = provider.Stats();
    EXPECT_EQ(after.processor.exported + after.processor.dropped,
              static_cast<std::uint64_t>(kN + 4));
    EXPECT_EQ(g->Exported(), after.processor.exported);
}

TEST(TelemetryBatchProcessor, ExportsFullBatchesWithoutWaitingForTheDelay) {
    auto storage = std::make_shared<exporters::InMemorySpanStorage>();
    sdk::TracerProviderOptions o;
    o.sampler = sdk::AlwaysOnSampler();
    o.processor = std::make_unique<sdk::BatchSpanProcessor>(
        std::make_unique<exporters::InMemorySpanExporter>(storage),
        sdk::BatchOptions{.max_queue_size = 2048,
                          .schedule_delay = std::chrono::hours(1),
                          .max_export_batch_size = 16});
    sdk::TracerProvider provider(std::move(o));
    Tracer tracer = provider.GetTracer("t");
    for (int i = 0; i < 64; ++i) {
        tracer.StartSpan("op").End();
    }
    // With an hour-long delay only the batch-full wake-up can export these.
    for (int i = 0; i < 2000 && storage->Size() < 48; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_GE(storage->Size(), 48u);
    EXPECT_TRUE(provider.Shutdown(std::chrono::seconds(5)));
    EXPECT_EQ(storage->Size(), 64u);  // shutdown drains
    EXPECT_EQ(provider.Stats().processor.dropped, 0u);
}

TEST(TelemetryBatchProcessor, ManyThreadsNoLossWhenQueueIsLargeEnough) {
    auto storage = std::make_shared<exporters::InMemorySpanStorage>();
    sdk::TracerProviderOptions o;
    o.sampler = sdk::AlwaysOnSampler();
    o.processor = std::make_unique<sdk::BatchSpanProcessor>(
        std::make_unique<exporters::InMemorySpanExporter>(storage),
        sdk::BatchOptions{.max_queue_size = 1 << 15, .max_export_batch_size = 256});
    sdk::TracerProvider provider(std::move(o));
    Tracer tracer = provider.GetTracer("t");
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&tracer, t] {
            for (int i = 0; i < 2000; ++i) {
                Span s = tracer.StartSpan("op");
                s.SetAttribute("thread", t);
                s.SetAttribute("i", i);
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    ASSERT_TRUE(provider.ForceFlush(std::chrono::seconds(10)));
    const auto stats = provider.Stats();
    EXPECT_EQ(stats.processor.exported + stats.processor.dropped, 8000u);
    EXPECT_EQ(storage->Size(), stats.processor.exported);
    EXPECT_EQ(stats.processor.dropped, 0u);
}

// The benchmark's situation: one thread ends spans as fast as it can against the default
// options while the worker polls for them. Whatever the scheduling, every span is exported or
// counted as dropped, and the exporter saw exactly the exported ones.
TEST(TelemetryBatchProcessor, TightLoopEveryEndedSpanIsExportedOrCounted) {
    auto exporter = std::make_unique<exporters::NullSpanExporter>();
    const exporters::NullSpanExporter* null_exporter = exporter.get();
    sdk::TracerProviderOptions o;
    o.sampler = sdk::AlwaysOnSampler();
    o.processor = std::make_unique<sdk::BatchSpanProcessor>(std::move(exporter));
    sdk::TracerProvider provider(std::move(o));
    Tracer tracer = provider.GetTracer("t");
    constexpr std::uint64_t kN = 200000;
    for (std::uint64_t i = 0; i < kN; ++i) {
        Span s = tracer.StartSpan("op");
        s.SetAttribute("http.request.method", "POST");
        s.SetAttribute("i", static_cast<std::int64_t>(i));
    }
    ASSERT_TRUE(provider.ForceFlush(std::chrono::seconds(30)));
    const auto stats = provider.Stats();
    EXPECT_EQ(stats.spans_started, kN);
    EXPECT_EQ(stats.processor.exported + stats.processor.dropped, kN);
    EXPECT_EQ(null_exporter->Count(), stats.processor.exported);
    EXPECT_EQ(stats.processor.queue_size, 0u);
}

// A stream fast enough for the worker to poll, then silence (it goes back to sleep), then one
// more batch: with an hour-long delay only a caller's wake-up of the sleeping worker can
// export that batch. (The queue holds the whole stream, so nothing is dropped and every batch
// is full whatever the scheduling.)
TEST(TelemetryBatchProcessor, AfterAStreamTheSleepingWorkerIsWokenByTheNextFullBatch) {
    auto exporter = std::make_unique<exporters::NullSpanExporter>();
    const exporters::NullSpanExporter* null_exporter = exporter.get();
    sdk::TracerProviderOptions o;
    o.sampler = sdk::AlwaysOnSampler();
    o.processor = std::make_unique<sdk::BatchSpanProcessor>(
        std::move(exporter), sdk::BatchOptions{.max_queue_size = 1 << 17,
                                               .schedule_delay = std::chrono::hours(1),
                                               .max_export_batch_size = 512});
    sdk::TracerProvider provider(std::move(o));
    Tracer tracer = provider.GetTracer("t");
    constexpr std::uint64_t kStream = 100 * 512;
    for (std::uint64_t i = 0; i < kStream; ++i) {
        tracer.StartSpan("op").End();
    }
    const auto exported = [&] { return provider.Stats().processor.exported; };
    for (int i = 0; i < 2000 && exported() < kStream; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(exported(), kStream);  // whole batches: nothing waits for the timer
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the worker stops polling
    for (int i = 0; i < 512; ++i) {
        tracer.StartSpan("op").End();
    }
    for (int i = 0; i < 2000 && exported() < kStream + 512; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const auto stats = provider.Stats().processor;
    EXPECT_EQ(stats.exported, kStream + 512);
    EXPECT_EQ(stats.dropped, 0u);
    EXPECT_EQ(null_exporter->Count(), stats.exported);
    EXPECT_EQ(stats.queue_size, 0u);
}

// A trickle far below a batch with an hour-long delay: nothing is exported early (the worker
// only exports full batches or on the timer), and ForceFlush exports the remainder.
TEST(TelemetryBatchProcessor, PartialBatchWaitsForTheTimerOrAFlush) {
    auto storage = std::make_shared<exporters::InMemorySpanStorage>();
    sdk::TracerProviderOptions o;
    o.sampler = sdk::AlwaysOnSampler();
    o.processor = std::make_unique<sdk::BatchSpanProcessor>(
        std::make_unique<exporters::InMemorySpanExporter>(storage),
        sdk::BatchOptions{.max_queue_size = 64,
                          .schedule_delay = std::chrono::hours(1),
                          .max_export_batch_size = 16});
    sdk::TracerProvider provider(std::move(o));
    Tracer tracer = provider.GetTracer("t");
    for (int i = 0; i < 20; ++i) {
        tracer.StartSpan("op").End();
    }
    // 16 of them form a full batch: exported without waiting for the delay.
    for (int i = 0; i < 2000 && storage->Size() < 16; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(storage->Size(), 16u);
    EXPECT_EQ(provider.Stats().processor.queue_size, 4u);
    ASSERT_TRUE(provider.ForceFlush(std::chrono::seconds(10)));
    EXPECT_EQ(storage->Size(), 20u);
    EXPECT_EQ(storage->ExportCalls(), 2u);
}

}  // namespace
}  // namespace flowex::telemetry
