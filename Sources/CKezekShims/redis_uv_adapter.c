// A hiredis <-> libuv adapter that only restarts the poll handle when the event mask changes
// and that lets hiredis see poll errors (see CKezekShims.h for why it exists).
#include "CKezekShims.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    redisAsyncContext *context;
    uv_poll_t handle;
    int events;
} kz_redis_events;

static void kz_redis_poll(uv_poll_t *handle, int status, int events) {
    kz_redis_events *p = (kz_redis_events *)handle->data;
    if (p->context == NULL) return;
    if (status < 0) {
        // A read on a broken socket makes hiredis notice the error and disconnect,
        // which calls every pending callback with a NULL reply.
        redisAsyncHandleRead(p->context);
        return;
    }
    if (events & UV_READABLE) redisAsyncHandleRead(p->context);
    if (p->context != NULL && (events & UV_WRITABLE)) redisAsyncHandleWrite(p->context);
}

static void kz_redis_update(kz_redis_events *p, int events) {
    if (events == p->events) return;
    p->events = events;
    if (events) uv_poll_start(&p->handle, events, kz_redis_poll);
    else uv_poll_stop(&p->handle);
}

static void kz_redis_add_read(void *d) { kz_redis_events *p = d; kz_redis_update(p, p->events | UV_READABLE); }
static void kz_redis_del_read(void *d) { kz_redis_events *p = d; kz_redis_update(p, p->events & ~UV_READABLE); }
static void kz_redis_add_write(void *d) { kz_redis_events *p = d; kz_redis_update(p, p->events | UV_WRITABLE); }
static void kz_redis_del_write(void *d) { kz_redis_events *p = d; kz_redis_update(p, p->events & ~UV_WRITABLE); }

static void kz_redis_on_close(uv_handle_t *handle) { free(handle->data); }

static void kz_redis_cleanup(void *d) {
    kz_redis_events *p = d;
    p->context = NULL;
    uv_close((uv_handle_t *)&p->handle, kz_redis_on_close);
}

int kz_redis_attach(redisAsyncContext *ac, uv_loop_t *loop) {
    if (ac->ev.data != NULL) return REDIS_ERR;
    kz_redis_events *p = calloc(1, sizeof(*p));
    if (p == NULL) return REDIS_ERR;
    if (uv_poll_init(loop, &p->handle, ac->c.fd) != 0) {
        free(p);
        return REDIS_ERR;
    }
    p->handle.data = p;
    p->context = ac;
    ac->ev.data = p;
    ac->ev.addRead = kz_redis_add_read;
    ac->ev.delRead = kz_redis_del_read;
    ac->ev.addWrite = kz_redis_add_write;
    ac->ev.delWrite = kz_redis_del_write;
    ac->ev.cleanup = kz_redis_cleanup;
    return REDIS_OK;
}
