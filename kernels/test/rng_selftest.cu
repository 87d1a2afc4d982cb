// Host-side check of the generator in common.cuh, no GPU needed:
//   scripts/build-kernels.sh --selftest
// Philox4x32-10 against Random123's known answers and against words, uniforms and normals computed
// by dev.elbo4j.rng.Philox (the Java reference) for the elbo4j key layout. The same functions run
// on the device (they are __host__ __device__); the GPU suite checks them there.
#include <cstdio>
#include <cstring>

#include "../common.cuh"

using namespace elbo4j;

namespace {

int failures = 0;

void expect_words(const char* what, uint4 got, const uint32_t want[4]) {
    if (got.x != want[0] || got.y != want[1] || got.z != want[2] || got.w != want[3]) {
        std::printf("FAIL %s: got %08x %08x %08x %08x, want %08x %08x %08x %08x\n", what, got.x, got.y, got.z, got.w,
                    want[0], want[1], want[2], want[3]);
        ++failures;
    }
}

uint32_t bits(float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
}

PhiloxKey key_of(unsigned long long seed, uint32_t stream, unsigned long long step) {
    return make_key(static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), stream, step, nullptr);
}

}  // namespace

int main() {
    // Random123 kat_vectors, philox4x32 with 10 rounds: counter, key -> output.
    struct Kat {
        uint32_t ctr[4], key[2], out[4];
    } kats[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
        {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu},
         {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
        {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u},
         {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
    };
    for (const Kat& k : kats) {
        PhiloxKey key{k.key[0], k.key[1], k.ctr[2], k.ctr[3]};
        unsigned long long block = k.ctr[0] | (static_cast<unsigned long long>(k.ctr[1]) << 32);
        expect_words("Random123 known answer", philox(block, key), k.out);
    }

    // dev.elbo4j.rng.Philox.block(new RngKey(seed, stream, step), block) for the elbo4j layout.
    struct Layout {
        unsigned long long seed;
        uint32_t stream;
        unsigned long long step, block;
        uint32_t words[4];
    } layouts[] = {
        {0x1122334455667788ull, 127u, 0xabcdef12345678ull, 0x0ull, {0xc5139acfu, 0x1ed97460u, 0x6931ef49u, 0x1a30fe62u}},
        {0x1122334455667788ull, 127u, 0xabcdef12345678ull, 0x1ull, {0x78621df0u, 0x197ba043u, 0x9e5c326fu, 0x0f2884d5u}},
        {0x1122334455667788ull, 127u, 0xabcdef12345678ull, 0xffffffffull, {0xcdb3bc32u, 0x678a0822u, 0x07b03395u, 0x9a1355dfu}},
        {0x1122334455667788ull, 127u, 0xabcdef12345678ull, 0x10000000003ull, {0x65d78e19u, 0x93514aaeu, 0xa0c06a0au, 0x6514a32eu}},
        {0x000000000000002aull, 2u, 0x00000000000007ull, 0x0ull, {0x38859e38u, 0x5ae59181u, 0xd1f5e66cu, 0x72d82d65u}},
        {0x000000000000002aull, 2u, 0x00000000000007ull, 0x1ull, {0x53e7f6c6u, 0xb7c2b3c0u, 0x833792fbu, 0x55bb6980u}},
        {0x000000000000002aull, 2u, 0x00000000000007ull, 0xffffffffull, {0x71e9ca23u, 0x034d603bu, 0x1b2308f5u, 0xbcb8fb92u}},
        {0x000000000000002aull, 2u, 0x00000000000007ull, 0x10000000003ull, {0xcf6d7f34u, 0x6002f323u, 0x9e4c66beu, 0xf664bc38u}},
        {0xffffffffffffffffull, 255u, 0xffffffffffffffull, 0x0ull, {0x3d3be307u, 0x716983d6u, 0x70094bedu, 0x36c3cf91u}},
        {0xffffffffffffffffull, 255u, 0xffffffffffffffull, 0x1ull, {0x933684c8u, 0x53e5a0afu, 0xd2fd021au, 0xb4c93c70u}},
        {0xffffffffffffffffull, 255u, 0xffffffffffffffull, 0xffffffffull, {0xa426518du, 0x56f1532cu, 0x771887b1u, 0xcd81a4c4u}},
        {0xffffffffffffffffull, 255u, 0xffffffffffffffull, 0x10000000003ull, {0x1daa326cu, 0x6158348eu, 0x4af5f70fu, 0x41b7508bu}},
    };
    for (const Layout& l : layouts) {
        expect_words("elbo4j key layout", philox(l.block, key_of(l.seed, l.stream, l.step)), l.words);
    }
    // The device step pointer replaces the argument step.
    {
        const unsigned long long device_step = 7;
        PhiloxKey k = make_key(42u, 0u, 2u, 999u, &device_step);
        expect_words("step read through step_ptr", philox(0, k), layouts[4].words);
    }

    // Philox.uniforms / Philox.normals of RngKey(42, LATENT = 2, 7), elements 0..15 (float bits).
    const uint32_t uniforms[16] = {0x3e621678u, 0x3eb5cb22u, 0x3f51f5e6u, 0x3ee5b05au, 0x3ea7cfecu, 0x3f37c2b3u,
                                   0x3f033792u, 0x3eab76d2u, 0x3f2c6b99u, 0x3f2e85c0u, 0x3f2194e8u, 0x3f130ce7u,
                                   0x3e23e560u, 0x3ea02ddau, 0x3f615fbeu, 0x3f2f2545u};
    const uint32_t normals[16] = {0xbf886ea7u, 0x3fafbcf7u, 0xbf18df1eu, 0x3e4c99b8u, 0xbe99996eu, 0xbfbb4a30u,
                                  0xbf167c97u, 0x3f7edb88u, 0xbebd5632u, 0xbf4efc5bu, 0xbf5b3b2cu, 0xbedd6234u,
                                  0xbf3c8800u, 0x3fe22b7fu, 0xbe4fca0eu, 0xbeeca95bu};
    const PhiloxKey k = key_of(42, 2, 7);
    int normal_ulps = 0;
    for (int q = 0; q < 4; ++q) {
        const uint4 w = philox(q, k);
        const float4 n = normals4(w);
        for (int lane = 0; lane < 4; ++lane) {
            const int j = 4 * q + lane;
            if (bits(uniform01(word(w, lane))) != uniforms[j]) {
                std::printf("FAIL uniform %d: got %08x, want %08x\n", j, bits(uniform01(word(w, lane))), uniforms[j]);
                ++failures;
            }
            const int32_t d = static_cast<int32_t>(bits(lane_of(n, lane)) - normals[j]);
            if (d != 0) ++normal_ulps;
            if (d > 1 || d < -1) {
                std::printf("FAIL normal %d: got %08x, want %08x\n", j, bits(lane_of(n, lane)), normals[j]);
                ++failures;
            }
        }
    }
    std::printf("rng_selftest: %zu known answers, %zu layout vectors, 16 uniforms, 16 normals (%d one ulp apart): %s\n",
                sizeof kats / sizeof kats[0], sizeof layouts / sizeof layouts[0], normal_ulps,
                failures == 0 ? "ok" : "FAILED");
    return failures == 0 ? 0 : 1;
}
