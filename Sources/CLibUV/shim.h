// System library target for libuv (Debian: libuv1-dev). Nothing but the include.
#include <uv.h>
