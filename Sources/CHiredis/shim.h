// System library target for hiredis (Debian: libhiredis-dev). Nothing but the includes.
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
