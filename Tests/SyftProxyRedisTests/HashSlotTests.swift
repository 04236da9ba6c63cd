import Testing
@testable import SyftProxyRedis

@Suite struct HashSlotTests {
    @Test func matchesRedisClusterKeySlot() {
        // CRC16/XMODEM's check value, and slots `CLUSTER KEYSLOT` gives for these keys.
        #expect(RedisHashSlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(RedisHashSlot.slot(of: "foo") == 12182)
        #expect(RedisHashSlot.slot(of: "bar") == 5061)
        #expect(RedisHashSlot.slot(of: "") == 0)
    }

    @Test func hashTagsFollowTheClusterSpecification() {
        #expect(RedisHashSlot.slot(of: "{user1000}.following") == RedisHashSlot.slot(of: "user1000"))
        #expect(RedisHashSlot.slot(of: "foo{bar}{zap}") == RedisHashSlot.slot(of: "bar"))
        // An empty tag, or an unclosed one, hashes the whole key.
        #expect(RedisHashSlot.slot(of: "foo{}{bar}") == RedisHashSlot.slot(of: "foo{}{bar}"))
        #expect(RedisHashSlot.slot(of: "foo{}{bar}") != RedisHashSlot.slot(of: "bar"))
        #expect(RedisHashSlot.slot(of: "{bar") != RedisHashSlot.slot(of: "bar"))
        #expect(RedisHashSlot.slot(of: "{{bar}}") == RedisHashSlot.slot(of: "{bar"))
    }
}
