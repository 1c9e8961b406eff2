// System library target for OpenSSL's libcrypto (Debian: libssl-dev), used for SHA-256 only
// (the lottery numbers and the seed commitment of a fair round). Nothing but the include.
#include <openssl/evp.h>
