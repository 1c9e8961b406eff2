import NIOCore

/// Closes a connection a fixed time after it was set up, however far its requests got: a
/// probe needs milliseconds, while silent, trickled or never-reading clients would otherwise
/// hold a connection (and a descriptor) for as long as they like. An idle timeout would not
/// do: a client sending a byte a second is never idle.
final class ConnectionDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let limit: TimeAmount
    private var timer: Scheduled<Void>?

    init(after limit: TimeAmount) {
        self.limit = limit
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: limit) {
            channel.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }
}
