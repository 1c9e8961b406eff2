/// Builds the replies of the Redis-compatibility commands (HELLO, INFO, COMMAND, CONFIG GET,
/// CLIENT …), whose shapes differ between RESP2 and RESP3: a map is `%n` in RESP3 and a flat
/// array of 2n items in RESP2, a null is `_` or `$-1`, INFO's text is a verbatim string in
/// RESP3. They are encoded at once into a `Reply.raw`: none of this is on the booking path.
struct RESPWriter {
    let resp3: Bool
    private(set) var bytes: [UInt8] = []

    init(resp3: Bool) { self.resp3 = resp3 }

    mutating func bulk(_ text: String) {
        line("$", text.utf8.count)
        bytes.append(contentsOf: text.utf8)
        crlf()
    }

    mutating func simple(_ text: String) {
        bytes.append(UInt8(ascii: "+"))
        bytes.append(contentsOf: text.utf8)
        crlf()
    }

    mutating func integer(_ value: Int) { line(":", value) }

    mutating func null() {
        if resp3 {
            bytes.append(contentsOf: "_\r\n".utf8)
        } else {
            bytes.append(contentsOf: "$-1\r\n".utf8)
        }
    }

    /// Text for humans (INFO): a verbatim string in RESP3, a bulk string in RESP2.
    mutating func verbatim(_ text: String) {
        guard resp3 else { return bulk(text) }
        line("=", text.utf8.count + 4)
        bytes.append(contentsOf: "txt:".utf8)
        bytes.append(contentsOf: text.utf8)
        crlf()
    }

    /// An array of `count` items; write the items next.
    mutating func array(_ count: Int) { line("*", count) }

    /// A map of `count` pairs; write key, value, key, value … next.
    mutating func map(_ count: Int) { line(resp3 ? "%" : "*", resp3 ? count : 2 * count) }

    mutating func bulks(_ texts: [String]) {
        array(texts.count)
        for text in texts { bulk(text) }
    }

    var reply: Reply { .raw(bytes) }

    private mutating func line(_ type: Character, _ number: Int) {
        bytes.append(type.asciiValue!)
        Reply.appendDecimal(number, into: &bytes)
        crlf()
    }

    private mutating func crlf() {
        bytes.append(13)
        bytes.append(10)
    }
}
