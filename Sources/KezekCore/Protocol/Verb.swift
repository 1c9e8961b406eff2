extension Verb {
    private static let lowercasedNames: [(Verb, [UInt8])] = Verb.allCases.map {
        ($0, Array($0.name.lowercased().utf8))
    }

    /// Matches `token` against the verbs of `CommandTable`, ignoring ASCII case, without
    /// building a String.
    public init?(_ token: UnsafeRawBufferPointer) {
        for (verb, name) in Verb.lowercasedNames where name.count == token.count {
            var same = true
            for index in 0..<name.count where token[index] | 0x20 != name[index] {
                same = false
                break
            }
            if same {
                self = verb
                return
            }
        }
        return nil
    }
}
