// The address under load. Only loopback targets are accepted (127.0.0.0/8, ::1, localhost):
// anything else is refused before a socket is opened.
import CLibUV
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

struct TargetAddress: CustomStringConvertible {
    /// Numeric address ("127.0.0.1" or "::1").
    let ip: String
    let port: UInt16
    let isIPv6: Bool

    var description: String { isIPv6 ? "[\(ip)]:\(port)" : "\(ip):\(port)" }

    struct Refused: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses HOST:PORT (or [::1]:PORT) and refuses anything that is not loopback.
    static func parse(_ text: String) throws -> TargetAddress {
        var host: Substring
        var portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw Refused(description: "bad target '\(text)': expected HOST:PORT")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else {
                throw Refused(description: "bad target '\(text)': expected [::1]:PORT")
            }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw Refused(description: "bad target '\(text)': expected HOST:PORT")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                throw Refused(
                    description: "bad target '\(text)': write an IPv6 address as [::1]:PORT")
            }
        }
        guard let port = UInt16(portText), port > 0 else {
            throw Refused(description: "bad target '\(text)': port must be 1-65535")
        }
        if host.lowercased() == "localhost" { host = "127.0.0.1" }

        var v4 = in_addr()
        if inet_pton(AF_INET, String(host), &v4) == 1 {
            let firstOctet = UInt32(bigEndian: v4.s_addr) >> 24
            guard firstOctet == 127 else {
                throw Refused(
                    description:
                        "refusing target \(text): not a loopback address (127.0.0.0/8, ::1, localhost)"
                )
            }
            return TargetAddress(ip: String(host), port: port, isIPv6: false)
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, String(host), &v6) == 1 {
            var loop6 = in6_addr()
            _ = inet_pton(AF_INET6, "::1", &loop6)
            let same = withUnsafeBytes(of: &v6) { a in
                withUnsafeBytes(of: &loop6) { b in a.elementsEqual(b) }
            }
            guard same else {
                throw Refused(
                    description:
                        "refusing target \(text): not a loopback address (127.0.0.0/8, ::1, localhost)"
                )
            }
            return TargetAddress(ip: "::1", port: port, isIPv6: true)
        }
        throw Refused(
            description:
                "refusing target \(text): only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed"
        )
    }

    /// Calls `body` with a sockaddr for this address.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>) -> R) -> R {
        if isIPv6 {
            var sa = sockaddr_in6()
            _ = uv_ip6_addr(ip, Int32(port), &sa)
            return withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body)
            }
        } else {
            var sa = sockaddr_in()
            _ = uv_ip4_addr(ip, Int32(port), &sa)
            return withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body)
            }
        }
    }
}
