// A minimal JSON value with ordered keys, for the `--json` summary.
import Foundation

indirect enum JSON {
    case int(Int)
    case double(Double)
    case string(String)
    case bool(Bool)
    case array([JSON])
    case object([(String, JSON)])
    case null

    func render() -> String {
        switch self {
        case .int(let n): return String(n)
        case .double(let d):
            guard d.isFinite else { return "null" }
            return String(format: "%.6g", d)
        case .string(let s): return Self.quote(s)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let a): return "[" + a.map { $0.render() }.joined(separator: ",") + "]"
        case .object(let kv):
            return "{" + kv.map { Self.quote($0.0) + ":" + $0.1.render() }.joined(separator: ",")
                + "}"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    out += String(format: "\\u%04x", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
