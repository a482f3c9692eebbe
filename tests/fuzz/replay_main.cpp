// Runs a libFuzzer target over files (or directories of files) without libFuzzer, so the
// committed corpus is replayed by every build (g++ included). Also feeds each input's
// prefixes and a few byte flips, a cheap stand-in for mutation.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {
void Run(const std::string& s) { LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }
}  // namespace

int main(int argc, char** argv) {
    std::vector<std::filesystem::path> files;
    for (int i = 1; i < argc; ++i) {
        std::filesystem::path p(argv[i]);
        if (std::filesystem::is_directory(p)) {
            for (const auto& e : std::filesystem::directory_iterator(p)) {
                if (e.is_regular_file()) {
                    files.push_back(e.path());
                }
            }
        } else {
            files.push_back(p);
        }
    }
    if (files.empty()) {
        std::fprintf(stderr, "usage: %s <corpus file or dir>…\n", argv[0]);
        return 2;
    }
    std::size_t runs = 0;
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        std::string data = ss.str();
        Run(data);
        ++runs;
        std::size_t step = std::max<std::size_t>(1, data.size() / 64);
        for (std::size_t n = 0; n < data.size(); n += step) {
            Run(data.substr(0, n));
            std::string flipped = data;
            flipped[n] = static_cast<char>(flipped[n] ^ 0x5A);
            Run(flipped);
            runs += 2;
        }
    }
    std::printf("replayed %zu inputs from %zu files\n", runs, files.size());
    return 0;
}
