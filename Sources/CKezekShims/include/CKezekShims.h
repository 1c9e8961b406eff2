// Small C helpers for what Swift cannot express well against libuv and hiredis.
//
// Why this target exists:
// - hiredis's stock libuv adapter (adapters/libuv.h in 0.14) restarts the poll handle on every
//   command even when the event mask did not change, costing one failing epoll_ctl per command,
//   and it ignores poll errors, which can leave a dead connection hanging. kz_redis_attach is
//   our own adapter: it touches the poll only when the mask changes and hands errors to hiredis.
// - malloc_trim is not visible from Swift; kz_release_free_memory wraps it.
// - libuv 1.44 has no flag for SO_REUSEPORT; kz_tcp_listen_reuseport sets it between
//   uv_tcp_init_ex and bind, so every loop thread gets its own listener on the shared port.
#ifndef KEZEK_SHIMS_H
#define KEZEK_SHIMS_H

#include <uv.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include "kz_atomic_bytes.h"
#include "kz_flat_reply.h"

/// Attaches an async hiredis context to a libuv loop. Returns REDIS_OK or REDIS_ERR.
int kz_redis_attach(redisAsyncContext *ac, uv_loop_t *loop);

/// Initialises `server` on `loop`, sets SO_REUSEPORT (and SO_REUSEADDR), binds `addr` and
/// listens with `backlog`. Returns 0 or a negative libuv error code.
int kz_tcp_listen_reuseport(uv_loop_t *loop, uv_tcp_t *server, const struct sockaddr *addr,
                            int backlog, uv_connection_cb on_connection);

/// Parses "host:port" or "[v6]:port" into `out`. Returns 0 or a negative libuv error code.
int kz_parse_endpoint(const char *host, int port, struct sockaddr_storage *out);

/// Returns 1 when the address is loopback (127.0.0.0/8 or ::1).
int kz_is_loopback(const struct sockaddr *addr);

/// Writes the peer address of a connected TCP handle as text ("1.2.3.4:5" or "[::1]:5") into
/// `out` (at least 64 bytes). Returns 0 or a negative libuv error code.
int kz_peer_name(const uv_tcp_t *handle, char *out, size_t size);
/// The same for the local address of the handle (CLIENT LIST's `laddr`).
int kz_local_name(const uv_tcp_t *handle, char *out, size_t size);
/// Gives freed heap memory back to the system (glibc malloc_trim, which Swift's Glibc module
/// does not export). Used once after loading the state, which frees many short-lived objects.
void kz_release_free_memory(void);

#endif
