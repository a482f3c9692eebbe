// ReadSize: how much the server and the client ask the socket for next. A body of known
// length is read in as few reads as the 64 KiB bound allows, not in buffer-sized pieces.
// GCC 12 with -fsanitize=address reports Beast's own boost::optional in basic_parser::put as
// maybe uninitialized when instantiated here (a false positive; the library's TUs compile).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "../src/parsers.hpp"

#include <gtest/gtest.h>

#include <string>

#include <boost/asio/buffer.hpp>

namespace flowex::http::detail {
namespace {

// Feeds `bytes` to a fresh request parser; returns how many it took.
std::size_t Feed(RequestParser& parser, const std::string& bytes) {
    boost::beast::error_code ec;
    std::size_t used = parser.put(boost::asio::buffer(bytes), ec);
    EXPECT_TRUE(!ec || ec == boost::beast::http::error::need_more) << ec.message();
    return used;
}

TEST(ReadSizeTest, BeforeTheHeaderEndsTheBuffersRoomBoundedBy4And64KiB) {
    Request request;
    RequestParser parser(request, 8192, 1 << 20);
    EXPECT_EQ(ReadSize(parser.BodyLeft(), 1024, 0), 4096u);
    EXPECT_EQ(ReadSize(parser.BodyLeft(), 16384, 100), 16284u);
    EXPECT_EQ(ReadSize(parser.BodyLeft(), 1 << 20, 0), 65536u);
}

TEST(ReadSizeTest, AContentLengthBodyAsksForWhatIsLeftOfIt) {
    Request request;
    RequestParser parser(request, 8192, 1 << 20);
    std::string head = "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\n";
    Feed(parser, head + std::string(1000, 'a'));
    ASSERT_TRUE(parser.is_header_done());
    // The buffer is 4 KiB, yet the next read asks for the 49,000 bytes still to come.
    EXPECT_EQ(ReadSize(parser.BodyLeft(), 4096, 0), 49000u);
    // Bytes already buffered but not yet parsed are not asked for again.
    EXPECT_EQ(ReadSize(parser.BodyLeft(), 4096, 9000), 40000u);
    // Nearly done: at least 4 KiB (the next request's head may follow).
    Feed(parser, std::string(48000, 'b'));
    EXPECT_EQ(ReadSize(parser.BodyLeft(), 4096, 0), 4096u);
}

TEST(ReadSizeTest, LargeAndChunkedBodiesStayWithin64KiB) {
    Request big_request;
    RequestParser big(big_request, 8192, 16 << 20);
    // The head alone (no body byte yet): the length is known from the header.
    Feed(big, "POST / HTTP/1.1\r\nContent-Length: 5000000\r\n\r\n");
    EXPECT_EQ(ReadSize(big.BodyLeft(), 4096, 0), 65536u);

    Request chunked_request;
    RequestParser chunked(chunked_request, 8192, 1 << 20);
    Feed(chunked, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    ASSERT_TRUE(chunked.is_header_done());
    EXPECT_EQ(ReadSize(chunked.BodyLeft(), 4096, 0), 4096u);  // length unknown: the buffer's room
}

// A response may have neither a length nor chunks: its body runs to the end of the
// connection. Nothing is then known to be left (BodyLeft used to wrap below zero).
TEST(ReadSizeTest, AResponseBodyThatRunsToTheEndOfTheConnectionHasNothingKnownLeft) {
    ClientResponse response;
    ResponseParser parser(response, 1 << 20);
    boost::beast::error_code ec;
    const std::string bytes = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nsome of the body";
    parser.put(boost::asio::buffer(bytes), ec);
    ASSERT_TRUE(!ec || ec == boost::beast::http::error::need_more) << ec.message();
    ASSERT_EQ(response.body, "some of the body");
    EXPECT_EQ(parser.BodyLeft(), 0u);
    EXPECT_EQ(ReadSize(parser.BodyLeft(), 4096, 0), 4096u);
}

// Beast reads any three digits as a status; below 100 it is not HTTP, and a client could not
// tell which class of answer it got. Such a response is refused (found by fuzz_http_parser).
TEST(ResponseParserTest, AStatusBelow100IsABadResponse) {
    ClientResponse response;
    ResponseParser parser(response, 1 << 20);
    boost::beast::error_code ec;
    const std::string bytes = "HTTP/1.1 006 Odd\r\nContent-Length: 0\r\n\r\n";
    parser.put(boost::asio::buffer(bytes), ec);
    EXPECT_EQ(ec, boost::beast::http::error::bad_status);

    ClientResponse ok_response;
    ResponseParser ok(ok_response, 1 << 20);
    const std::string fine = "HTTP/1.1 100 Continue\r\n\r\n";
    ok.put(boost::asio::buffer(fine), ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(ok_response.status, 100);
}

// A 204 has no body whatever its Content-Length says: once it is complete, no more is expected.
TEST(ResponseParserTest, ABodilessResponseWithAContentLengthHasNothingLeft) {
    ClientResponse response;
    ResponseParser parser(response, 1 << 20);
    boost::beast::error_code ec;
    const std::string bytes = "HTTP/1.1 204 No Content\r\nContent-Length: 5000\r\n\r\n";
    parser.put(boost::asio::buffer(bytes), ec);
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_TRUE(parser.is_done());
    EXPECT_EQ(parser.BodyLeft(), 0u);
}

}  // namespace
}  // namespace flowex::http::detail
