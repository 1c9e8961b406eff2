/// Where a holder's units live on Redis Cluster, and the scripts its home master runs
/// (docs/SCALING.md, "The holder limit across shards").
///
///     <prefix>:{h:<H>}:units            HASH   provider -> claims of H there (a seat or offer: 1,
///                                              plus reserves granted and not yet settled); HLEN
///                                              is what H holds, counted against holder-limit
///     <prefix>:{<home>}:units:<S>       SET    "<H> <P>" for every unit shard S took on this
///                                              master (the index S's next holder recovers from)
///     <prefix>:{<home>}:fence:<S>       STRING the epoch of S's newest holder: older ones refused
///
/// `<home>` is the shard tag (`ShardTag`) of the master that serves H's slot, so the three keys
/// of one script are on one master. The scripts look at every key before the first write (as
/// the cluster's batches do): a slot that moved makes Redis refuse the script, not half apply it.
struct HolderUnitKeys: Sendable {
    let prefix: String

    func units(holder: String) -> String { "\(prefix):{h:\(holder)}:units" }
    func index(homeTag: String, shard: Int) -> String { "\(prefix):{\(homeTag)}:units:\(shard)" }
    func fence(homeTag: String, shard: Int) -> String { "\(prefix):{\(homeTag)}:fence:\(shard)" }

    /// The hash slot of a holder's units (its home).
    static func homeSlot(of holder: String) -> Int { HashSlot.of(("h:" + holder).utf8) }
}

enum HolderUnitScripts {
    /// ARGV: units, index, fence, holder, provider, epoch. Refuses an epoch older than the fence.
    private static let prologue = """
        #!lua flags=allow-cross-slot-keys
        redis.call('EXISTS', ARGV[1])
        redis.call('EXISTS', ARGV[2])
        local fence = tonumber(redis.call('GET', ARGV[3]) or '0')
        if tonumber(ARGV[6]) < fence then
          return redis.error_reply('\(FencingRefusal.fenced.rawValue) fence is ' .. fence)
        end
        local entry = ARGV[4] .. ' ' .. ARGV[5]

        """

    /// The reserves and releases one shard sends one master in one pipeline, as one call
    /// (the script's own cost is paid once per group, as a batch of bookings pays it).
    /// ARGV: index, fence, epoch, limit, the number N of fences, every shard's fence on this
    /// master (N keys), then groups of four: `R` (reserve) or `F` (release), units key,
    /// holder, provider. Answers one word per group, in order: a reserve `GRANTED` (a claim
    /// more at this provider: a first one only while the holder holds fewer than the limit)
    /// or `LIMIT`; a release (one claim less; the unit and its index entry go with the last)
    /// `RELEASED`. Refused whole (`KZFENCED`) for an epoch older than the fence, and
    /// (`KZLOST`) while any shard's fence is missing here: every holder raises its fence on
    /// every master before it serves, so a missing one means this master lost its data, the
    /// units of other shards' seats with it, until each shard has put its own back
    /// (`HolderUnitFenceWatch`). Every key is looked at before the first write.
    static let reserveAndRelease = """
        #!lua flags=allow-cross-slot-keys
        redis.call('EXISTS', ARGV[1])
        local fence = tonumber(redis.call('GET', ARGV[2]) or '0')
        if tonumber(ARGV[3]) < fence then
          return redis.error_reply('\(FencingRefusal.fenced.rawValue) fence is ' .. fence)
        end
        local fences = tonumber(ARGV[5])
        for f = 6, 5 + fences do
          if redis.call('EXISTS', ARGV[f]) == 0 then
            return redis.error_reply('\(FencingRefusal.lost.rawValue) holder units lost here: ' .. ARGV[f] .. ' is missing')
          end
        end
        local i = 6 + fences
        while i <= #ARGV do
          redis.call('EXISTS', ARGV[i + 1])
          i = i + 4
        end
        local limit = tonumber(ARGV[4])
        local answers = {}
        i = 6 + fences
        while i <= #ARGV do
          local units, provider = ARGV[i + 1], ARGV[i + 3]
          local entry = ARGV[i + 2] .. ' ' .. provider
          if ARGV[i] == 'R' then
            if redis.call('HEXISTS', units, provider) == 1 then
              redis.call('HINCRBY', units, provider, 1)
              answers[#answers + 1] = 'GRANTED'
            elseif redis.call('HLEN', units) >= limit then
              answers[#answers + 1] = 'LIMIT'
            else
              redis.call('HSET', units, provider, 1)
              redis.call('SADD', ARGV[1], entry)
              answers[#answers + 1] = 'GRANTED'
            end
          else
            local claims = tonumber(redis.call('HGET', units, provider) or '0')
            if claims > 1 then
              redis.call('HINCRBY', units, provider, -1)
            else
              redis.call('HDEL', units, provider)
              redis.call('SREM', ARGV[1], entry)
            end
            answers[#answers + 1] = 'RELEASED'
          end
          i = i + 4
        end
        return answers
        """

    /// ARGV[7] 1 or 0: the unit as the shard's state, just recovered, says (no claim in
    /// flight then: the fence stopped the previous holder's). Past the limit if need be.
    /// 2: the unit is there, claims already counted kept (a serving holder putting back what
    /// a master lost, while its own reserves may be in flight elsewhere).
    static let settle =
        prologue + """
            if ARGV[7] == '0' then
              redis.call('HDEL', ARGV[1], ARGV[5])
              redis.call('SREM', ARGV[2], entry)
            elseif ARGV[7] == '2' then
              redis.call('HSETNX', ARGV[1], ARGV[5], 1)
              redis.call('SADD', ARGV[2], entry)
            else
              redis.call('HSET', ARGV[1], ARGV[5], 1)
              redis.call('SADD', ARGV[2], entry)
            end
            return 'SETTLED'
            """

    /// KEYS[1] a fence, ARGV[1] an epoch: the fence raised to it (never lowered).
    static let raiseFence = """
        local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
        if tonumber(ARGV[1]) > fence then redis.call('SET', KEYS[1], ARGV[1]) end
        return 1
        """
}
