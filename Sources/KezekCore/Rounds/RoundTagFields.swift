import KezekDraw

/// How a provider's round tags are kept in `<prefix>:{P}:rounds`, three kinds of field:
///
///     #<round>   "<holder> <rank> <holder> <rank> …"   a draw's part here: every holder that
///                                                     draw placed or queued here, in one field
///     <holder>   "<round> <rank>"                     the holder's own tag, overriding any part
///     <holder>   "-"                                  no tag: masks the holder in every part
///
/// and the waitlist places draws made here, beside the sorted set `{P}:waiting` (a sorted-set
/// member each cost Redis more than half of a large draw, PERFORMANCE.md "The draw's waitlist
/// places"):
///
///     ~<first>   "<holder> <holder> …"   a draw's new places, scored <first>, <first> + 1, …
///     !<holder>  "<score>"               the holder left a place scored at most <score>
///     ~          "<score>"               the highest score given here so far
///
/// A place in a `~<first>` field is live unless the holder is in the sorted set (which then
/// says where it waits, if anywhere), has a mask at or above the place's score, or holds a
/// seat or an offer here. Masks are written with the highest score so far, so a later place
/// (always scored higher) is never masked; `~` keeps that score even when the sorted set's top
/// member leaves.
///
/// A draw writes one field per provider instead of one per holder: in Redis a hash field per
/// holder cost more than the seat or place it tags (PERFORMANCE.md, "The draw"). A part is
/// never edited; a holder leaves it by getting a field of its own. So a holder's tag is its own
/// field if it has one, else its entry in a part. A holder that has (or may have) a field of
/// its own is in `Provider.State.tagFields`, and a later draw gives such a holder its own
/// field again rather than a part entry, which the field would mask; a holder whose tag comes
/// from another round gets its own field too, so no holder is live in two parts.
enum RoundTagFields {
    /// The field of a round's part: `#` is not an id character, so no holder is named so.
    static func partField(round: String) -> String { "#" + round }

    /// The value of a holder's own field that drops its tag.
    static let noTag = "-"

    /// The field of a draw's new waitlist places scored from `first` (`~` and `!` are not id
    /// characters either).
    static func placesField(first: Int) -> String { "~" + String(first) }

    /// The field that masks `holder`'s places in every `~<first>` field scored at or below its value.
    static func maskField(holder: String) -> String { "!" + holder }

    /// The field of the highest waitlist score given at the provider so far.
    static let highestScoreField = "~"

    /// The waitlist places draws made here as a provider's hash has them: the places that are
    /// not masked (the caller drops those the sorted set or a seat overrides), and the highest
    /// score any field names (new places must score above it). `bad` is told of every field
    /// of these kinds that does not parse.
    static func drawnPlaces(_ pairs: [(field: String, value: String)], bad: (String) -> Void)
        -> (places: [(holder: String, score: Int)], highest: Int?, found: Bool)
    {
        var masks: [Substring: Int] = [:]
        var fields: [(first: Int, value: String, field: String)] = []
        var highest: Int?
        func note(_ score: Int) { highest = max(highest ?? score, score) }
        for (field, value) in pairs {
            if field == highestScoreField {
                guard let score = Int(value) else {
                    bad(field)
                    continue
                }
                note(score)
            } else if field.hasPrefix("~") {
                guard let first = Int(field.dropFirst()) else {
                    bad(field)
                    continue
                }
                fields.append((first, value, field))
            } else if field.hasPrefix("!") {
                guard let score = Int(value), Identifier.isValid(String(field.dropFirst())) else {
                    bad(field)
                    continue
                }
                masks[field.dropFirst()] = score
                note(score)
            }
        }
        var places: [(holder: String, score: Int)] = []
        for entry in fields {
            var score = entry.first
            var told = false  // one line per bad field, however many bad ids it holds
            for word in entry.value.split(separator: " ") {
                defer { score += 1 }
                guard Identifier.isValid(String(word)) else {
                    if !told { bad(entry.field) }
                    told = true
                    continue
                }
                note(score)
                if let mask = masks[word], mask >= score { continue }
                places.append((String(word), score))
            }
        }
        return (places, highest, !fields.isEmpty)
    }

    /// A part's value from its entries, in the draw's order.
    static func partValue(_ entries: [(holder: String, rank: Int)]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entries.count * 16)
        for entry in entries {
            if !bytes.isEmpty { bytes.append(UInt8(ascii: " ")) }
            bytes.append(contentsOf: entry.holder.utf8)
            bytes.append(UInt8(ascii: " "))
            bytes.append(contentsOf: String(entry.rank).utf8)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// What a provider's hash says: each tagged holder's tag, and the holders with a field of
    /// their own. `bad` is told of every field or entry that is not one of the three kinds.
    static func decode(_ pairs: [(field: String, value: String)], bad: (String) -> Void)
        -> (tags: [String: RoundTag], ownFields: Set<String>)
    {
        var tags: [String: RoundTag] = [:]
        var own: [String: RoundTag?] = [:]
        // Parts in round order, so that bad data (a holder in two parts) reads the same each time.
        var parts: [(round: String, value: String)] = []
        for (field, value) in pairs {
            if field.hasPrefix("~") || field.hasPrefix("!") {
                continue  // waitlist places (`drawnPlaces`), not tags
            } else if field.hasPrefix("#") {
                let round = String(field.dropFirst())
                guard Identifier.isValid(round) else {
                    bad(field)
                    continue
                }
                parts.append((round, value))
            } else if !Identifier.isValid(field) {
                bad(field)
            } else if value == noTag {
                own[field] = .some(nil)
            } else if let tag = RoundTag.decode(value) {
                own[field] = tag
            } else {
                bad(field)
            }
        }
        for part in parts.sorted(by: { $0.round < $1.round }) {
            let words = part.value.split(separator: " ")
            guard words.count % 2 == 0 else {
                bad(partField(round: part.round))
                continue
            }
            var index = 0
            while index < words.count {
                defer { index += 2 }
                let holder = String(words[index])
                guard Identifier.isValid(holder), let rank = Int(words[index + 1]),
                    rank >= 1, rank <= RankedChoice.maxChoices
                else {
                    bad(partField(round: part.round))
                    continue
                }
                tags[holder] = RoundTag(round: part.round, rank: rank)
            }
        }
        for (holder, tag) in own { tags[holder] = tag }
        return (tags, Set(own.keys))
    }
}
