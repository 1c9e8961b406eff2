/// A way the recorded history breaks the contract, with the smallest part of the history that
/// shows it.
public struct Anomaly: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A booking acknowledged (`+BOOKED`) and never cancelled is missing afterwards.
        case lostAcknowledgedBooking = "lost-acknowledged-booking"
        /// A read revealed a booking that was never made: it was sent but never answered, and
        /// was gone afterwards with nothing to undo it (read before Redis had it).
        case dirtyRead = "dirty-read"
        /// One holder's answers at one provider fit no order of its requests (a stale or dirty
        /// read, a write answered twice differently, …).
        case notLinearizable = "not-linearizable"
        /// A provider held more bookings than its capacity.
        case oversold = "oversold"
        /// A holder held more seats than the per-holder limit.
        case holderOverLimit = "holder-over-limit"
        /// A holder that joined a waitlist after another ended up ahead of it.
        case waitlistOrder = "waitlist-order"
        /// SEATS and the holders' STATUS disagree in the final state.
        case finalStateDiffers = "final-state-differs"
        /// `kezek-audit replay` of the audit log does not rebuild the final state.
        case auditReplayDiffers = "audit-replay-differs"
        /// An acknowledged application (or its withdrawal) is not what the draw took, or a
        /// RESULT before the draw read it as gone.
        case lostApplication = "lost-application"
        /// The draw took, or a RESULT showed, an application that was never sent.
        case phantomApplication = "phantom-application"
        /// The published draw, or a `+DRAWN`, is not the lottery and deferred acceptance over
        /// the applications it took.
        case drawDiffers = "draw-differs"
        /// A RESULT after the draw was acknowledged is not the holder's outcome in it.
        case resultDiffers = "result-differs"
    }

    public let kind: Kind
    public let subject: String
    public let detail: String
    public let history: [HistoryOperation]
    /// The fair-round requests that show it, for the rounds' anomalies.
    public let roundHistory: [RoundOperation]

    public init(
        kind: Kind, subject: String, detail: String, history: [HistoryOperation] = [],
        roundHistory: [RoundOperation] = []
    ) {
        self.kind = kind
        self.subject = subject
        self.detail = detail
        self.history = history
        self.roundHistory = roundHistory
    }
}
