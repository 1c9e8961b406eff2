/// The seat model seen from one holder at one provider: the holder has a seat, waits, or has
/// nothing. Holders interact only through the provider's capacity and the per-holder limit, so
/// each (provider, holder) pair is checked on its own (a linearizability check per key is
/// polynomial where one per provider is not), and what another holder's request may do to this
/// one is a spontaneous transition: a waiting holder may be promoted to a seat (a seat freed
/// ahead of it) or lose its place (the holder limit reached elsewhere). Capacity, the limit and
/// the waitlist's order are checked globally (`GlobalInvariants`).
///
/// The model works on sets of states, so one step of a nondeterministic transition is one step.
public struct HolderStates: Hashable, Sendable, CustomStringConvertible {
    public var bits: UInt8
    public static let none = HolderStates(bits: 1), booked = HolderStates(bits: 2),
        waiting = HolderStates(bits: 4)
    public static let empty = HolderStates(bits: 0)
    public static let all = HolderStates(bits: 7)

    public init(bits: UInt8) { self.bits = bits }
    public var isEmpty: Bool { bits == 0 }
    public func union(_ other: HolderStates) -> HolderStates {
        HolderStates(bits: bits | other.bits)
    }
    public func intersection(_ other: HolderStates) -> HolderStates {
        HolderStates(bits: bits & other.bits)
    }
    public func contains(_ other: HolderStates) -> Bool {
        bits & other.bits == other.bits && other.bits != 0
    }

    public var description: String {
        var names: [String] = []
        if bits & 1 != 0 { names.append("none") }
        if bits & 2 != 0 { names.append("booked") }
        if bits & 4 != 0 { names.append("waiting") }
        return "{" + names.joined(separator: ",") + "}"
    }
}

public enum HolderModel {
    /// What may happen without a request of this holder: a waiting holder may be promoted or
    /// lose its place.
    public static func spontaneous(_ states: HolderStates) -> HolderStates {
        states.intersection(.waiting).isEmpty ? states : states.union(.all)
    }

    /// The states after `operation` answered as recorded, from `states` (empty: impossible).
    public static func step(_ states: HolderStates, _ operation: HistoryOperation) -> HolderStates {
        let n = HolderStates.none, b = HolderStates.booked, w = HolderStates.waiting
        func from(_ pre: HolderStates, to post: HolderStates) -> HolderStates {
            states.intersection(pre).isEmpty ? .empty : post
        }
        func keep(_ pre: HolderStates) -> HolderStates { states.intersection(pre) }
        switch (operation.request, operation.outcome) {
        case (.book, .booked), (.bookWait, .booked): return from(n.union(b), to: b)
        case (.book, .waiting): return keep(w)
        case (.bookWait, .waiting): return from(n.union(w), to: w)
        case (.book, .full), (.bookWait, .full): return keep(n)
        case (.book, .limit): return keep(n)
        case (.bookWait, .limit): return keep(n.union(w))
        case (.cancel, .cancelled): return from(b.union(w), to: n)
        case (.cancel, .notFound): return keep(n)
        // With no offers (offer-ttl 0, no rounds), nothing is ever confirmed.
        case (.confirm, .notFound): return states
        case (.status, .statusBooked): return keep(b)
        case (.status, .statusWaiting): return keep(w)
        case (.status, .statusNone): return keep(n)
        default: return .empty
        }
    }

    /// What an unknown request may have done, if it took effect (at most what any answer does).
    public static func possibleEffect(_ states: HolderStates, _ request: HistoryOperation.Request)
        -> HolderStates
    {
        switch request {
        case .book: return states.union(states.contains(.none) ? .booked : .empty)
        case .bookWait:
            return states.union(
                states.contains(.none) ? HolderStates.booked.union(.waiting) : .empty)
        case .cancel: return states.union(.none)
        case .confirm, .status, .seats: return states
        }
    }
}
