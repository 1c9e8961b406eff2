// TLS for the client port through OpenSSL memory BIOs, so a TLS connection stays on its libuv
// loop thread: the loop reads ciphertext from the socket and feeds it in, takes plaintext out,
// and writes what OpenSSL wants sent. No socket is ever handed to OpenSSL.
//
// Why this target exists: OpenSSL's setters (SSL_CTX_set_min_proto_version, SSL_CTX_set_mode,
// BIO_pending, ...) are function-like macros, which Swift cannot call; these few functions
// wrap them, and keep the SSL/BIO pairing in one place.
#ifndef KEZEK_TLS_H
#define KEZEK_TLS_H

#include <stddef.h>

/// Client certificates: not asked for, asked for and checked when sent, or required.
enum kz_tls_verify { KZ_TLS_VERIFY_NO = 0, KZ_TLS_VERIFY_OPTIONAL = 1, KZ_TLS_VERIFY_REQUIRED = 2 };
/// Protocol versions, as a bit set.
enum kz_tls_protocols { KZ_TLS_V1_2 = 1, KZ_TLS_V1_3 = 2 };

/// A server context (an SSL_CTX) from PEM files; `ca_file` may be NULL when `verify` is NO.
/// Returns NULL and a one-line reason in `error` when a file is missing or does not match.
void *kz_tls_context_new(const char *cert_file, const char *key_file, const char *ca_file,
                         int verify, int protocols, char *error, size_t error_size);
/// Drops the caller's reference; sessions made from it keep it alive.
void kz_tls_context_free(void *context);

typedef struct kz_tls kz_tls;

/// A server-side session of `context` with its two memory BIOs.
kz_tls *kz_tls_new(void *context);
void kz_tls_free(kz_tls *tls);

/// Hands ciphertext read from the socket to OpenSSL (copied). Returns 0, or -1 without memory.
int kz_tls_feed(kz_tls *tls, const void *bytes, size_t count);
/// Decrypts into `out`: the number of plaintext bytes; 0 when more ciphertext is needed;
/// -1 when the peer closed the session; -2 on an error (`kz_tls_error` says which).
long kz_tls_read(kz_tls *tls, void *out, size_t size);
/// Encrypts all of `bytes`: 1 done; 0 when the handshake is not done yet (nothing written);
/// -2 on an error.
int kz_tls_write(kz_tls *tls, const void *bytes, size_t count);
/// Ciphertext waiting to be sent, and taking it (returns the bytes taken).
size_t kz_tls_pending(kz_tls *tls);
size_t kz_tls_take(kz_tls *tls, void *out, size_t size);
/// Queues a close_notify alert (sent with the next pending ciphertext).
void kz_tls_shutdown(kz_tls *tls);
/// 1 once the handshake completed.
int kz_tls_established(kz_tls *tls);
/// The reason of the last -2 ("wrong version number", "certificate verify failed: ...").
const char *kz_tls_error(kz_tls *tls);
/// The negotiated version ("TLSv1.3"), for logs.
const char *kz_tls_version(kz_tls *tls);

#endif
