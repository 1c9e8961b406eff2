// A gateway client's routes on Redis Cluster: for each provider, the node to send it to. A
// `-MOVED <slot> <host:port>` names the shard's holder by its own listen address; the client
// reaches that node through the fault proxy in front of it, so the address is mapped to the
// node's index. A node that refused, timed out or stood by sends the provider to the next one.
final class ClusterRoutes {
    /// Each node's own port (what -MOVED names), by node index.
    let nodePorts: [UInt16]
    private var byProvider: [String: Int] = [:]

    init(nodePorts: [UInt16]) { self.nodePorts = nodePorts }

    func node(for provider: String) -> Int { byProvider[provider] ?? 0 }

    /// Follows `MOVED <slot> <host:port>` (the error's text); false when it names no node.
    func moved(_ provider: String, _ text: String) -> Bool {
        guard let address = text.split(separator: " ").last,
            let port = address.split(separator: ":").last.flatMap({ UInt16($0) }),
            let index = nodePorts.firstIndex(of: port)
        else { return false }
        byProvider[provider] = index
        return true
    }

    func next(_ provider: String, after node: Int) {
        byProvider[provider] = (node + 1) % nodePorts.count
    }
}
