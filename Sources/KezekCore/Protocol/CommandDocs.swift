/// A command described as Redis describes its own (COMMAND, COMMAND INFO, COMMAND DOCS), so
/// tools such as redis-cli show argument hints. Declared with its verb in `CommandTable`.
struct CommandDocs: Sendable {
    struct Argument: Sendable {
        let name: String
        /// Redis argument types: `string`, `integer`, `pure-token`.
        let type: String
        var token: String?
        var optional = false
    }

    let flags: [String]
    let summary: String
    let arguments: [Argument]
}

extension CommandEntry {
    /// Redis arity: the count including the name; negative means "at least".
    var redisArity: Int {
        arity.lowerBound == arity.upperBound ? arity.lowerBound + 1 : -(arity.lowerBound + 1)
    }

    /// The 10-element COMMAND INFO entry of Redis 7. A command keyed by its provider names it
    /// as its key (first key 1, last 1, step 1): cluster-aware clients route it by the
    /// provider's hash slot (`CLUSTER SLOTS`), which is the slot of every Redis key that
    /// stores the provider. A round's command names the round id the same way (ROUND: its
    /// second argument), which is the slot of the round's keys on Redis Cluster.
    func writeInfo(into out: inout RESPWriter) {
        let flags = docs?.flags ?? []
        out.array(10)
        out.bulk(name.lowercased())
        out.integer(redisArity)
        out.array(flags.count)
        for flag in flags { out.simple(flag) }
        out.integer(keyPosition)
        out.integer(keyPosition)
        out.integer(keyPosition == 0 ? 0 : 1)
        out.array(0)
        out.array(0)
        out.array(0)
        out.array(0)
    }

    /// The COMMAND DOCS map of this command.
    func writeDocs(into out: inout RESPWriter) {
        let arguments = docs?.arguments ?? []
        out.map(5)
        out.bulk("summary"); out.bulk(docs?.summary ?? "")
        out.bulk("since"); out.bulk("1.0.0")
        out.bulk("group"); out.bulk("generic")
        out.bulk("complexity"); out.bulk("O(1)")
        out.bulk("arguments")
        out.array(arguments.count)
        for argument in arguments {
            var fields = 2
            if argument.token != nil { fields += 1 }
            if argument.optional { fields += 1 }
            out.map(fields)
            out.bulk("name"); out.bulk(argument.name)
            out.bulk("type"); out.bulk(argument.type)
            if let token = argument.token {
                out.bulk("token"); out.bulk(token)
            }
            if argument.optional {
                out.bulk("flags"); out.array(1); out.simple("optional")
            }
        }
    }
}
