#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>

#include "flowex/testing/child_process.hpp"

namespace flowex::testing {
namespace {

using namespace std::chrono_literals;

TEST(TestEnvChildProcess, ReadsTheListeningLineAndItsPort) {
    auto child = ChildProcess::Start(
        {.argv = {"/bin/sh", "-c",
                  "echo starting; echo \"[info] listening on 127.0.0.1:$PORT_FOR_TEST\"; "
                  "exec sleep 600"},
         .env = {{"PORT_FOR_TEST", "43210"}}});
    ASSERT_TRUE(child.ok()) << child.error().message;
    auto addr = (*child)->WaitForListening(10s);
    ASSERT_TRUE(addr.ok()) << addr.error().message << (*child)->Output();
    EXPECT_EQ(addr->host, "127.0.0.1");
    EXPECT_EQ(addr->port, 43210);
    EXPECT_NE((*child)->Output().find("starting"), std::string::npos);
}

TEST(TestEnvChildProcess, DestructionKillsTheChildByPid) {
    pid_t pid = -1;
    {
        auto child = ChildProcess::Start({.argv = {"/bin/sh", "-c", "echo up; exec sleep 600"}});
        ASSERT_TRUE(child.ok()) << child.error().message;
        pid = (*child)->pid();
        ASSERT_TRUE((*child)->WaitForLine([](const std::string& l) { return l == "up"; }, 10s).ok());
        EXPECT_FALSE((*child)->Exited());
    }
    // Reaped by the destructor: the pid is no longer our child.
    EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
}

TEST(TestEnvChildProcess, ChildExitingBeforeListeningIsReportedNotAwaitedForever) {
    auto child = ChildProcess::Start({.argv = {"/bin/sh", "-c", "echo 'bad config' >&2; exit 2"}});
    ASSERT_TRUE(child.ok()) << child.error().message;
    auto addr = (*child)->WaitForListening(30s);
    ASSERT_FALSE(addr.ok());
    EXPECT_EQ(addr.error().code, common::ErrorCode::kUpstreamUnavailable);
    auto status = (*child)->Wait(10s);
    ASSERT_TRUE(status.ok());
    EXPECT_TRUE(WIFEXITED(*status));
    EXPECT_EQ(WEXITSTATUS(*status), 2);
    EXPECT_NE((*child)->Output().find("bad config"), std::string::npos);
}

TEST(TestEnvChildProcess, StopSendsSigtermFirst) {
    auto child = ChildProcess::Start(
        {.argv = {"/bin/sh", "-c", "trap 'echo got-term; exit 0' TERM; echo ready; while :; do sleep 0.05; done"}});
    ASSERT_TRUE(child.ok());
    ASSERT_TRUE((*child)->WaitForLine([](const std::string& l) { return l == "ready"; }, 10s).ok());
    int status = (*child)->Stop(10s);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(TestEnvChildProcess, MissingProgramIsAnError) {
    auto child = ChildProcess::Start({.argv = {"/nonexistent/flowex-binary"}});
    EXPECT_FALSE(child.ok());
}

}  // namespace
}  // namespace flowex::testing
