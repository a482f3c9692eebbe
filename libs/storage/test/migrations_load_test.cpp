#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "flowex/storage/migrations.hpp"

namespace flowex::storage {
namespace {

namespace fs = std::filesystem;

class TempDir {
public:
    TempDir() {
        path_ = fs::path(::testing::TempDir()) /
                ("flowex_mig_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~TempDir() { fs::remove_all(path_); }
    void Write(const std::string& name, const std::string& content) const {
        std::ofstream(path_ / name) << content;
    }
    const fs::path& path() const { return path_; }

private:
    static inline int counter_ = 0;
    fs::path path_;
};

TEST(StorageMigrationsLoad, OrdersByVersionAndIgnoresOtherFiles) {
    TempDir dir;
    dir.Write("0002_b.sql", "CREATE TABLE b (id int);");
    dir.Write("0001_a.sql", "CREATE TABLE a (id int);");
    dir.Write("README.md", "not a migration");
    auto m = LoadMigrations(dir.path());
    ASSERT_TRUE(m.ok()) << m.error().message;
    ASSERT_EQ(m->size(), 2u);
    EXPECT_EQ((*m)[0].version, 1);
    EXPECT_EQ((*m)[0].name, "0001_a");
    EXPECT_EQ((*m)[1].name, "0002_b");
    EXPECT_EQ((*m)[0].checksum.size(), 64u);
    EXPECT_NE((*m)[0].checksum, (*m)[1].checksum);
}

TEST(StorageMigrationsLoad, BadNamesAndDuplicateVersionsAreErrors) {
    TempDir bad;
    bad.Write("1_a.sql", "SELECT 1;");
    auto m = LoadMigrations(bad.path());
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.error().message.find("1_a.sql"), std::string::npos);

    TempDir dup;
    dup.Write("0001_a.sql", "SELECT 1;");
    dup.Write("0001_b.sql", "SELECT 2;");
    EXPECT_FALSE(LoadMigrations(dup.path()).ok());

    EXPECT_FALSE(LoadMigrations("/nonexistent/flowex/migrations").ok());
}

}  // namespace
}  // namespace flowex::storage
