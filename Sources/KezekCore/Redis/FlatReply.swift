/// A reply that is an array of strings, as such; anything else (nil, an error, an array
/// holding other kinds) as its RedisValue.
enum FlatReply {
    case strings([String])
    case other(RedisValue)
}
