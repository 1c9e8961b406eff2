// The tests' one import: the loopback client, free ports, the monotonic clock and SplitMix64
// live in KezekClientSupport (kezek-audit and kezek-bench use them too); this target adds the
// private redis-server and kezekd processes and the thread helpers.
@_exported import KezekClientSupport
