import NIOCore

/// The open connections of one HTTP listener, least recently active first, so that a new
/// connection past the limit sheds the one that has done nothing for longest instead of
/// waiting behind it: a probe is answered whatever idle or trickling clients hold.
///
/// Activity is a request part read (a head, body or end decoded): idle connections and
/// slowloris ones (whose head never completes) stay where they were admitted, oldest first,
/// while a probe that just connected and asked is the most recently active of all.
///
/// Unchecked Sendable: the listener runs on one event-loop thread, and the roster is used
/// only from its child channels' handlers, all on that thread.
final class ConnectionRoster: @unchecked Sendable {
    private let limit: Int
    private(set) var count = 0
    /// A doubly linked list through the connections: `oldest` is shed first.
    private var oldest: RosteredConnection?
    private var newest: RosteredConnection?

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes a new connection in as the most recently active; past the limit, closes the
    /// least recently active other one.
    func admit(_ connection: RosteredConnection) {
        append(connection)
        if count > limit, let victim = oldest, victim !== connection {
            unlink(victim)
            victim.shed()
        }
    }

    /// The connection read a request part: it moves to the most recently active end.
    func touch(_ connection: RosteredConnection) {
        guard connection.listed, connection !== newest else { return }
        unlink(connection)
        append(connection)
    }

    /// The connection closed.
    func remove(_ connection: RosteredConnection) {
        if connection.listed { unlink(connection) }
    }

    private func append(_ connection: RosteredConnection) {
        connection.older = newest
        connection.newer = nil
        newest?.newer = connection
        newest = connection
        if oldest == nil { oldest = connection }
        connection.listed = true
        count += 1
    }

    private func unlink(_ connection: RosteredConnection) {
        if let older = connection.older {
            older.newer = connection.newer
        } else {
            oldest = connection.newer
        }
        if let newer = connection.newer {
            newer.older = connection.older
        } else {
            newest = connection.older
        }
        connection.older = nil
        connection.newer = nil
        connection.listed = false
        count -= 1
    }
}

/// One connection in its listener's `ConnectionRoster`: admitted when set up, touched on
/// every request part read, removed when closed.
final class RosteredConnection: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let roster: ConnectionRoster
    private var channel: Channel?
    fileprivate var older: RosteredConnection?
    fileprivate var newer: RosteredConnection?
    fileprivate var listed = false

    init(roster: ConnectionRoster) {
        self.roster = roster
    }

    /// Closed to make room for a newer connection.
    fileprivate func shed() {
        channel?.close(promise: nil)
        channel = nil
    }

    func handlerAdded(context: ChannelHandlerContext) {
        channel = context.channel
        roster.admit(self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        roster.remove(self)
        channel = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        roster.touch(self)
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        roster.remove(self)
        channel = nil
        context.fireChannelInactive()
    }
}
