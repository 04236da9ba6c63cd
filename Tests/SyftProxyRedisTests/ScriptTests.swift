import Testing
@testable import SyftProxyRedis

@Suite struct ScriptTests {
    @Test func sha1MatchesKnownVectors() {
        #expect(SHA1.hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(SHA1.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(SHA1.hex(String(repeating: "a", count: 1000)) == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
    }

    @Test func evalshaFallsBackToEvalAfterScriptFlush() async throws {
        try await withPool { pool, _ in
            let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            // Redis computes the same digest.
            #expect(try await pool.send(RedisCommand("SCRIPT", "LOAD", script.source)).string == script.sha1)
            #expect(try await pool.eval(script, keys: ["counter"], args: ["2"]).int == 2)
            _ = try await pool.send(RedisCommand("SCRIPT", "FLUSH"))
            #expect(try await pool.send(RedisCommand("SCRIPT", "EXISTS", script.sha1)) == .array([.integer(0)]))
            #expect(try await pool.eval(script, keys: ["counter"], args: ["3"]).int == 5)
            // The fallback cached the script again.
            #expect(try await pool.send(RedisCommand("SCRIPT", "EXISTS", script.sha1)) == .array([.integer(1)]))
        }
    }

    @Test func scriptErrorsAreServerErrors() async throws {
        try await withPool { pool, _ in
            await #expect {
                try await pool.eval(RedisScript("return redis.error_reply('BUSTED nope')"), keys: [], args: [])
            } throws: { error in
                error as? RedisError == .server("BUSTED nope")
            }
        }
    }
}
