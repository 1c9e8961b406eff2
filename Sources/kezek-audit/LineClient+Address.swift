import ArgumentParser
import KezekClientSupport

extension LineClient {
    /// A client to `address`, written HOST:PORT with a loopback host (what the options take).
    /// Commands wait 30 s for a reply (RESPValue.swift's default), as the audit always did.
    convenience init(address: String) throws {
        guard let colon = address.lastIndex(of: ":"),
            let port = UInt16(address[address.index(after: colon)...])
        else { throw ValidationError("expected HOST:PORT, got '\(address)'") }
        try self.init(port: Int(port), host: String(address[..<colon]), timeout: 30)
    }
}
