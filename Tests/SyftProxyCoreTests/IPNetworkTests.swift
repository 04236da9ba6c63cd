import SyftProxyCore
import Testing

@Suite struct IPNetworkTests {
    @Test func parsesAddressesOfBothFamilies() {
        #expect(IPAddress("10.1.2.3")?.bytes == [10, 1, 2, 3])
        #expect(IPAddress("::1")?.bytes == Array(repeating: 0, count: 15) + [1])
        #expect(IPAddress("::")?.bytes == Array(repeating: 0, count: 16))
        #expect(IPAddress("2001:db8::1")?.description == "2001:db8::1")
        #expect(IPAddress("2001:0DB8:0000:0000:0000:0000:0000:0001")?.description == "2001:db8::1")
        #expect(IPAddress("[::1]")?.description == "::1")
        #expect(IPAddress("fe80::1%eth0")?.description == "fe80::1")
        #expect(IPAddress("::ffff:10.1.2.3")?.ipv4Mapped?.description == "10.1.2.3")
        #expect(IPAddress("1:2:3:4:5:6:7:8")?.description == "1:2:3:4:5:6:7:8")
        #expect(IPAddress("1:0:0:2:0:0:0:3")?.description == "1:0:0:2::3")
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4:80", " 1.2.3.4", "a.b.c.d", "1::2::3", ":::",
                      "1:2:3:4:5:6:7:8:9", "12345::", "g::1", "1:2:3:4:5:6:7::8:9", "localhost", "::1%", "1.2.3.-4"])
    func refusesWhatIsNotAnAddress(text: String) {
        #expect(IPAddress(text) == nil, "\(text)")
    }

    @Test func networksContainTheirAddresses() throws {
        let ten = try #require(IPNetwork("10.0.0.0/8"))
        #expect(ten.contains("10.255.1.2"))
        #expect(!ten.contains("11.0.0.1"))
        #expect(ten.contains("::ffff:10.1.1.1"))
        #expect(!ten.contains("::1"))
        #expect(!ten.contains("not an address"))
        let host = try #require(IPNetwork("192.168.1.7"))
        #expect(host.prefixLength == 32 && host.contains("192.168.1.7") && !host.contains("192.168.1.8"))
        let loopback6 = try #require(IPNetwork("::1/128"))
        #expect(loopback6.contains("::1") && !loopback6.contains("::2"))
        let unique = try #require(IPNetwork("fd00::/8"))
        #expect(unique.contains("fd12:3456::1") && !unique.contains("fe80::1"))
        let odd = try #require(IPNetwork("172.16.0.0/12"))
        #expect(odd.contains("172.31.255.255") && !odd.contains("172.32.0.0"))
        #expect(IPNetwork("10.1.2.3/8")?.description == "10.0.0.0/8")
        #expect(IPNetwork("0.0.0.0/0")?.contains("8.8.8.8") == true)
        #expect(IPNetwork("::/0")?.contains("2001:db8::1") == true)
        #expect(IPNetwork("2001:db8::/33")?.contains("2001:db8:7fff::1") == true)
        #expect(IPNetwork("2001:db8::/33")?.contains("2001:db8:8000::1") == false)
        let raw = try #require(IPAddress(bytes: [10, 9, 8, 7]))
        #expect(ten.contains(raw))
    }

    @Test(arguments: ["10.0.0.0/33", "::1/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "/8", "10.0.0.0/ 8", "host/8", "10.0.0.0/0x8"])
    func refusesWhatIsNotANetwork(text: String) {
        #expect(IPNetwork(text) == nil, "\(text)")
    }

    @Test func parsesAList() {
        guard case .success(let networks) = IPNetwork.parseList(" 10.0.0.0/8, ,::1/128 ") else { Issue.record("refused"); return }
        #expect(networks.map(\.description) == ["10.0.0.0/8", "::1/128"])
        #expect(IPNetwork.parseList("10.0.0.0/8,bad") == .failure(IPNetwork.InvalidNetwork(text: "bad")))
        #expect(IPNetwork.parseList("") == .success([]))
    }
}
