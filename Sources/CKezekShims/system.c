// Socket and memory helpers libuv 1.44 and Swift's Glibc module do not offer (see CKezekShims.h).
#include "CKezekShims.h"
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

int kz_tcp_listen_reuseport(uv_loop_t *loop, uv_tcp_t *server, const struct sockaddr *addr,
                            int backlog, uv_connection_cb on_connection) {
    int rc = uv_tcp_init_ex(loop, server, addr->sa_family);
    if (rc != 0) return rc;
    uv_os_fd_t fd;
    rc = uv_fileno((uv_handle_t *)server, &fd);
    if (rc != 0) return rc;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) return uv_translate_sys_error(errno);
    rc = uv_tcp_bind(server, addr, 0);
    if (rc != 0) return rc;
    return uv_listen((uv_stream_t *)server, backlog, on_connection);
}

int kz_parse_endpoint(const char *host, int port, struct sockaddr_storage *out) {
    memset(out, 0, sizeof(*out));
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)out) == 0) return 0;
    return uv_ip6_addr(host, port, (struct sockaddr_in6 *)out);
}

int kz_is_loopback(const struct sockaddr *addr) {
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
        return memcmp(&a->sin6_addr, &in6addr_loopback, sizeof(struct in6_addr)) == 0;
    }
    return 0;
}

/* "1.2.3.4:5" or "[::1]:5". */
static int kz_address_name(const struct sockaddr_storage *address, char *out, size_t size) {
    char host[INET6_ADDRSTRLEN] = {0};
    if (address->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)address;
        uv_ip6_name(a, host, sizeof(host));
        snprintf(out, size, "[%s]:%d", host, ntohs(a->sin6_port));
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)address;
        uv_ip4_name(a, host, sizeof(host));
        snprintf(out, size, "%s:%d", host, ntohs(a->sin_port));
    }
    return 0;
}

int kz_peer_name(const uv_tcp_t *handle, char *out, size_t size) {
    struct sockaddr_storage peer;
    int length = sizeof(peer);
    int status = uv_tcp_getpeername(handle, (struct sockaddr *)&peer, &length);
    return status != 0 ? status : kz_address_name(&peer, out, size);
}

int kz_local_name(const uv_tcp_t *handle, char *out, size_t size) {
    struct sockaddr_storage local;
    int length = sizeof(local);
    int status = uv_tcp_getsockname(handle, (struct sockaddr *)&local, &length);
    return status != 0 ? status : kz_address_name(&local, out, size);
}

void kz_release_free_memory(void) { malloc_trim(0); }

__thread int kz_thread_stripe_plus_one;
static int kz_stripes_handed_out;

int kz_assign_thread_stripe(void) {
    int stripe = __atomic_fetch_add(&kz_stripes_handed_out, 1, __ATOMIC_RELAXED) % KZ_THREAD_STRIPES;
    kz_thread_stripe_plus_one = stripe + 1;
    return stripe;
}
