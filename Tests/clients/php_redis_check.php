<?php
// Drives kezekd with Debian's phpredis (php-redis), the client of most PHP gateways. phpredis
// turns every status reply into true, in a pipeline even with OPT_REPLY_LITERAL, so a gateway
// asks for Kezek's outcomes as bulk strings: CLIENT REPLY-STYLE bulk, once per connection.
// Run by RedisClientTests: php php_redis_check.php PORT TOKEN. Exits 1 on any failure.
[$script, $port, $token] = $argv;
$failures = 0;
function check(string $name, $got, $expected): void {
    global $failures;
    $ok = $got === $expected;
    printf("%s %s: %s\n", $ok ? "ok  " : "FAIL", $name, var_export($got, true));
    if (!$ok) $failures++;
}

$r = new Redis();
$r->connect("127.0.0.1", (int)$port);
$r->auth($token);
check("provider", $r->rawCommand("PROVIDER", "php-club", 1), true);
// At its defaults a PHP gateway cannot tell one outcome from another:
check("status replies are true", $r->rawCommand("BOOK", "php-club", "first"), true);

check("reply-style bulk", $r->rawCommand("CLIENT", "REPLY-STYLE", "bulk"), true);
$pipe = $r->multi(Redis::PIPELINE);
$pipe->rawCommand("BOOK", "php-club", "first");
$pipe->rawCommand("BOOK", "php-club", "second");
$pipe->rawCommand("BOOK", "php-club", "second", "WAIT");
$pipe->rawCommand("STATUS", "php-club", "second");
$pipe->rawCommand("CANCEL", "php-club", "first");
$pipe->rawCommand("STATUS", "php-club", "second");
$pipe->rawCommand("CANCEL", "php-club", "nobody");
$pipe->rawCommand("SEATS", "php-club");
check("pipeline tells every outcome apart", $pipe->exec(), [
    "BOOKED 0", "FULL php-club", "WAITING 1", "WAITING 1", "CANCELLED 0", "BOOKED", "NOTFOUND nobody",
    "SEATS capacity=1 booked=1 free=0 waiting=0 refused=1",
]);
check("single command", $r->rawCommand("STATUS", "php-club", "first"), "NONE");
try {
    $r->rawCommand("BOOK", "nowhere", "x");
    check("error is an error", "no exception", "exception");
} catch (RedisException $e) {
    check("error is an error", str_contains($e->getMessage(), "NOPROVIDER nowhere"), true);
}
check("connection still usable", $r->ping(), true);
exit($failures ? 1 : 0);
