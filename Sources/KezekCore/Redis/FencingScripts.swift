/// The Lua scripts that make Redis itself enforce "one writer" and "each decision atomic".
///
/// Every group-commit batch runs as one script (`batch`): Redis applies it only when the
/// writer's fencing epoch is still current and Redis still holds every batch this loop
/// thread had confirmed (its sequence number); then all of its writes or none. The `#!lua`
/// header makes Redis 7 refuse the whole script up front when it is out of memory, instead
/// of failing at a write half way through.
enum FencingScripts {
    /// KEYS[1] epoch key, KEYS[2] this thread's sequence key, KEYS[3] the log's step counter.
    /// ARGV[1] epoch, ARGV[2] the sequence Redis must have reached (every batch before this
    /// one applied), ARGV[3] the sequence after this batch, then groups of: verb code, key,
    /// item count, items. A group with code `A` is the batch's entry in the audit log: its
    /// items are the changes' field/value pairs, and the script puts `epoch` and `seq` (the
    /// next step of the log, from KEYS[3]) in front of them; a step too large for one Redis
    /// call carries several `A` groups, which share one `seq`.
    /// A group with code `B` is a run of bookings written once, in the log: its two items are
    /// a `booked-batches` field and `<n> <first> <count>`, and the script sets that field, after
    /// the log's entries, to `><id> <first> <count>` with `<id>` the stream id of the batch's
    /// n-th entry (from 0): the run's holders are that entry's changes `first` to
    /// `first + count - 1` (BookedBatches, "Runs in the log").
    /// A sequence at or past ARGV[3] means this very batch was applied before its reply was
    /// lost (a resend keeps its numbers): nothing is applied again, nor logged again. A sequence
    /// other than ARGV[2] below that means a batch before this one was not applied (refused,
    /// or Redis lost it): nothing of this one is applied.
    static let batch = batchScript(header: "#!lua", readPass: "")
    /// `batch` without its fence (the epoch and the sequence it must follow), for the planted
    /// bug `skip-fence` only.
    static let unfencedBatch = batch.replacing("if epoch ~= ARGV[1] then", with: "if false then")
        .replacing("if seq ~= tonumber(ARGV[2]) then", with: "if false then")

    private static func batchScript(header: String, readPass: String) -> String {
        """
        \(header)
        local epoch = redis.call('GET', KEYS[1])
        if epoch ~= ARGV[1] then
          if not epoch then return redis.error_reply('\(FencingRefusal.lost.rawValue) epoch missing') end
          return redis.error_reply('\(FencingRefusal.fenced.rawValue) epoch is ' .. epoch)
        end
        local seq = tonumber(redis.call('GET', KEYS[2]))
        if seq and seq >= tonumber(ARGV[3]) then return 1 end
        if seq ~= tonumber(ARGV[2]) then
          return redis.error_reply('\(FencingRefusal.lost.rawValue) sequence is ' .. tostring(seq) .. ', expected ' .. ARGV[2])
        end
        local verbs = {S = 'SADD', R = 'SREM', Z = 'ZADD', X = 'ZREM', T = 'SET', H = 'HSET', D = 'HDEL'}
        \(readPass)local i = 4
        local step
        local entries, runs = {}, {}
        while i <= #ARGV do
          local count = tonumber(ARGV[i + 2])
          if ARGV[i] == 'A' then
            step = step or redis.call('INCR', KEYS[3])
            entries[#entries + 1] = redis.call('XADD', ARGV[i + 1], '*', 'epoch', ARGV[1], 'seq', step, unpack(ARGV, i + 3, i + 2 + count))
          elseif ARGV[i] == 'B' then
            runs[#runs + 1] = i
          else
            redis.call(verbs[ARGV[i]], ARGV[i + 1], unpack(ARGV, i + 3, i + 2 + count))
          end
          i = i + 3 + count
        end
        for _, r in ipairs(runs) do
          local n, place = string.match(ARGV[r + 4], '^(%d+) (.*)$')
          redis.call('HSET', ARGV[r + 1], ARGV[r + 3], '>' .. entries[tonumber(n) + 1] .. ' ' .. place)
        end
        redis.call('SET', KEYS[2], ARGV[3])
        return 1
        """
    }

    /// `batch` for a Redis Cluster master: its writes go to keys of many slots of the master
    /// (`allow-cross-slot-keys`), and every key is looked at (`EXISTS`) before the first
    /// write. A key the master does not serve (the slot map moved under the daemon) makes
    /// Redis refuse the script at that call; Redis does not roll back writes already made, so
    /// the look comes first and the refusal leaves nothing half applied.
    static let clusterBatch = batchScript(
        header: "#!lua flags=allow-cross-slot-keys",
        readPass: """
            local k = 4
            while k <= #ARGV do
              redis.call('EXISTS', ARGV[k + 1])
              k = k + 3 + tonumber(ARGV[k + 2])
            end

            """)

    /// The batch script for this daemon's Redis: a cluster master's, or a lone primary's.
    static func batch(cluster: Bool) -> String {
        cluster ? clusterBatch : PlantedBug.active == .skipFence ? unfencedBatch : batch
    }

    /// One step of the audit log written outside a loop's batch (recovery's settling, the
    /// write-back after data loss, a log started over existing state): KEYS[1] the log,
    /// KEYS[2] its step counter; ARGV[1] the epoch, then the changes' field/value pairs.
    /// `seq` is taken from the counter in the same call, so steps never share a number.
    /// Returns the step's number.
    static let logStep = """
        #!lua
        local step = redis.call('INCR', KEYS[2])
        redis.call('XADD', KEYS[1], '*', 'epoch', ARGV[1], 'seq', step, unpack(ARGV, 2))
        return step
        """

    /// Takes the lease when nobody (or this daemon, or a holder known to be gone) holds it.
    /// KEYS[1] owner, KEYS[2] epoch, KEYS[3] the write-back marker, KEYS[4…] the log's step
    /// counter and the sequence keys of every loop thread (all reset: a new epoch numbers its
    /// steps and batches from 1).
    /// ARGV[1] this daemon's lease value, ARGV[2] lease milliseconds, ARGV[3] the smallest
    /// epoch to take, ARGV[4] '1' when the epoch key must exist (a daemon does not take an
    /// emptied Redis at once: the holder, if alive, writes its state back first), ARGV[5] a
    /// holder value known to be a dead process ('' when none), ARGV[6] '1' for a repair: the
    /// lease is taken from another holder whose epoch is below ARGV[3], since epochs never go
    /// backwards and such a holder took it over a Redis that had lost this daemon's state; a
    /// repair also sets the marker, which its write-back removes once whole. ARGV[7] a writer
    /// of an unfinished write-back known to be a dead process ('' when none).
    /// Returns {1, epoch} when taken (sequences reset to 0), {0, holder} when held,
    /// {0, ''} when the epoch key is missing and was required, {0, 'writeback <writer>'} while
    /// another daemon's write-back is unfinished: that daemon may be alive (frozen, or cut off
    /// from Redis) with the only whole copy, so nobody takes the part written over it.
    static let acquire = """
        #!lua
        local holder = redis.call('GET', KEYS[1])
        local current = redis.call('GET', KEYS[2])
        local writer = redis.call('GET', KEYS[3])
        local behind = ARGV[6] == '1' and (tonumber(current) or 0) < tonumber(ARGV[3])
        if holder and holder ~= ARGV[1] and holder ~= ARGV[5] and not behind then return {0, holder} end
        if ARGV[6] ~= '1' and writer and writer ~= ARGV[1] and writer ~= ARGV[7] then
          return {0, 'writeback ' .. writer}
        end
        if ARGV[4] == '1' and not current then return {0, ''} end
        local epoch = math.max((tonumber(current) or 0) + 1, tonumber(ARGV[3]))
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        redis.call('SET', KEYS[2], tostring(epoch))
        if ARGV[6] == '1' then redis.call('SET', KEYS[3], ARGV[1]) end
        for i = 4, #KEYS do redis.call('SET', KEYS[i], '0') end
        return {1, epoch}
        """

    /// Extends the lease. KEYS[1] owner, KEYS[2] epoch; ARGV[1] this daemon's lease value,
    /// ARGV[2] lease milliseconds, ARGV[3] its epoch. Returns 1 when extended (also when the
    /// owner key had lapsed but nobody took over: the epoch is still ours), 0 when another
    /// daemon took over (a higher epoch), -1 when Redis lost data: the epoch key is gone, or
    /// it is not above ours while another daemon holds the lease (epochs only grow, so that
    /// daemon took the lease over a Redis that had lost this one's state).
    /// `allow-oom`: the lease must outlive a Redis that refuses writes for lack of memory.
    static let renew = """
        #!lua flags=allow-oom
        local epoch = redis.call('GET', KEYS[2])
        if not epoch then return -1 end
        local holder = redis.call('GET', KEYS[1])
        if tonumber(epoch) < tonumber(ARGV[3]) then return -1 end
        if epoch ~= ARGV[3] then return 0 end
        if holder and holder ~= ARGV[1] then return -1 end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return 1
        """

    /// Gives the lease up at a clean shutdown, so a standby takes over at once.
    /// KEYS[1] owner, KEYS[2] (cluster mode) the holder's address; ARGV[1] this daemon's lease value.
    static let release = """
        #!lua
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', unpack(KEYS)) return 1 end
        return 0
        """
}
