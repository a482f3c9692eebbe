#include "flowex/http/router.hpp"

#include <gtest/gtest.h>

#include "flowex/http/message.hpp"

namespace flowex::http {
namespace {

Handler Named(std::string name) {
    return [name](RequestContext&) -> awaitable<Response> { co_return TextResponse(200, name); };
}

TEST(HttpRouter, PathParameterIsExtractedAndDecoded) {
    Router r;
    r.Get("/v1/orders/{order_id}", Named("one"));
    RequestContext ctx;
    Router::Match m = r.Find(Method::kGet, "/v1/orders/ab%20c-1", ctx);
    ASSERT_EQ(m.kind, Router::MatchKind::kFound);
    EXPECT_EQ(ctx.route, "/v1/orders/{order_id}");
    EXPECT_EQ(ctx.Param("order_id"), "ab c-1");
    EXPECT_EQ(ctx.Param("missing"), "");
}

TEST(HttpRouter, LiteralSegmentBeatsParameterAndParameterBeatsTail) {
    Router r;
    r.Get("/v1/orders/{order_id}", Named("param"));
    r.Get("/v1/orders/open", Named("literal"));
    r.Get("/{path...}", Named("tail"));
    RequestContext ctx;
    EXPECT_EQ(r.Find(Method::kGet, "/v1/orders/open", ctx).pattern, "/v1/orders/open");
    EXPECT_EQ(r.Find(Method::kGet, "/v1/orders/x1", ctx).pattern, "/v1/orders/{order_id}");
    Router::Match tail = r.Find(Method::kGet, "/search/a/b", ctx);
    EXPECT_EQ(tail.pattern, "/{path...}");
    EXPECT_EQ(ctx.Param("path"), "search/a/b");
}

TEST(HttpRouter, TailParameterKeepsEverySegmentHoweverManyAndEmptyOnes) {
    Router r;
    r.Get("/api/{rest...}", Named("tail"));
    RequestContext ctx;
    std::string path = "/api";
    std::string expected;
    for (int i = 0; i < 40; ++i) {  // more segments than the router compares
        path += "/s" + std::to_string(i);
        expected += (i == 0 ? "s" : "/s") + std::to_string(i);
    }
    ASSERT_EQ(r.Find(Method::kGet, path + "/a%2Fb", ctx).kind, Router::MatchKind::kFound);
    EXPECT_EQ(ctx.Param("rest"), expected + "/a/b");
    ASSERT_EQ(r.Find(Method::kGet, "/api//x/", ctx).kind, Router::MatchKind::kFound);
    EXPECT_EQ(ctx.Param("rest"), "/x/");
    ASSERT_EQ(r.Find(Method::kGet, "/api", ctx).kind, Router::MatchKind::kFound);
    EXPECT_EQ(ctx.Param("rest"), "");
}

TEST(HttpRouter, TwoParametersAndExactSegmentCount) {
    Router r;
    r.Get("/api/services/{service}/operations", Named("ops"));
    RequestContext ctx;
    ASSERT_EQ(r.Find(Method::kGet, "/api/services/order-manager/operations", ctx).kind,
              Router::MatchKind::kFound);
    EXPECT_EQ(ctx.Param("service"), "order-manager");
    EXPECT_EQ(r.Find(Method::kGet, "/api/services/x", ctx).kind, Router::MatchKind::kNotFound);
    EXPECT_EQ(r.Find(Method::kGet, "/api/services/x/operations/y", ctx).kind,
              Router::MatchKind::kNotFound);
    EXPECT_EQ(r.Find(Method::kGet, "/api/services//operations", ctx).kind,
              Router::MatchKind::kNotFound);
}

TEST(HttpRouter, UnknownPathIsNotFoundAndWrongMethodListsAllowed) {
    Router r;
    r.Get("/v1/orders", Named("list"));
    r.Post("/v1/orders", Named("create"));
    RequestContext ctx;
    EXPECT_EQ(r.Find(Method::kGet, "/v1/nothing", ctx).kind, Router::MatchKind::kNotFound);
    Router::Match m = r.Find(Method::kDelete, "/v1/orders", ctx);
    EXPECT_EQ(m.kind, Router::MatchKind::kMethodNotAllowed);
    EXPECT_EQ(m.allow, "GET, POST");
    EXPECT_EQ(r.Find(Method::kHead, "/v1/orders", ctx).kind, Router::MatchKind::kFound);
}

TEST(HttpRouter, BadPatternsAndDuplicatesAreRejected) {
    Router r;
    EXPECT_FALSE(r.Add(Method::kGet, "no-slash", Named("x")).ok());
    EXPECT_FALSE(r.Add(Method::kGet, "/a/{b", Named("x")).ok());
    EXPECT_FALSE(r.Add(Method::kGet, "/a/{}", Named("x")).ok());
    EXPECT_FALSE(r.Add(Method::kGet, "/{rest...}/more", Named("x")).ok());
    EXPECT_FALSE(r.Add(Method::kGet, "/{a}/{a}", Named("x")).ok());
    EXPECT_TRUE(r.Add(Method::kGet, "/a/{b}", Named("x")).ok());
    EXPECT_FALSE(r.Add(Method::kGet, "/a/{b}", Named("y")).ok());
    EXPECT_TRUE(r.Add(Method::kPost, "/a/{b}", Named("y")).ok());
}

TEST(HttpMessage, QueryParametersAreDecoded) {
    RequestContext ctx;
    ctx.request.target = "/v1/orders?status=open&symbol=BRK%2EB&limit=5&q=a+b&flag";
    EXPECT_EQ(ctx.request.Path(), "/v1/orders");
    EXPECT_EQ(ctx.Query("symbol").value_or(""), "BRK.B");
    EXPECT_EQ(ctx.Query("q").value_or(""), "a b");
    EXPECT_EQ(ctx.Query("flag").value_or("none"), "");
    EXPECT_FALSE(ctx.Query("missing").has_value());
    EXPECT_EQ(ctx.QueryParams().size(), 5U);
}

TEST(HttpMessage, ErrorResponseHasTheOneErrorShape) {
    Response r = ErrorResponse(
        common::Error{common::ErrorCode::kInsufficientFunds, "need \"more\""}, "abc123");
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.body,
              R"({"error":{"code":"insufficient_funds","message":"need \"more\"","trace_id":"abc123"}})");
}

TEST(HttpMessage, HeadersAreCaseInsensitive) {
    Headers h;
    h.Add("Content-Type", "a");
    h.Set("content-type", "b");
    EXPECT_EQ(h.size(), 1U);
    EXPECT_EQ(h.Get("CONTENT-TYPE").value_or(""), "b");
    h.Remove("Content-type");
    EXPECT_TRUE(h.empty());
}

}  // namespace
}  // namespace flowex::http
