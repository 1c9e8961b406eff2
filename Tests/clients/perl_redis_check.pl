# Drives kezekd with Debian's Perl Redis client (libredis-perl) at its defaults, with a
# password and a client name. Run by RedisClientTests: perl perl_redis_check.pl PORT TOKEN.
use strict;
use warnings;
use Redis;

my ($port, $token) = @ARGV;
my $failures = 0;
sub check {
    my ($name, $got, $expected) = @_;
    my $ok = defined $got && $got eq $expected;
    printf "%s %s: %s\n", ($ok ? "ok  " : "FAIL"), $name, defined $got ? $got : "undef";
    $failures++ unless $ok;
}

my $r = Redis->new(server => "127.0.0.1:$port", password => $token, name => "gateway-pl");
check("ping", $r->ping, "PONG");
check("provider", $r->PROVIDER("pl-club", 1), "OK");
check("book", $r->BOOK("pl-club", "aliya"), "BOOKED 0");
check("full is a value", $r->BOOK("pl-club", "timur"), "FULL pl-club");
check("status", $r->STATUS("pl-club", "aliya"), "BOOKED");
check("client name", $r->client_getname, "gateway-pl");
my $error = eval { $r->BOOK("nowhere", "x"); 1 } ? "" : $@;
check("error raised", ($error =~ /NOPROVIDER nowhere/ ? "yes" : "no: $error"), "yes");
exit($failures ? 1 : 0);
