#include "kz_flat_reply.h"
#include <stdlib.h>
#include <string.h>

// The reply being read on this thread (hiredis's callbacks carry no pointer of ours that is
// set for every element in 0.14).
static _Thread_local kz_flat_reply *reading;
// What the callbacks hand back to hiredis: any pointer that is not NULL (NULL means out of
// memory). Nothing is ever freed through it.
static char token;

static int reserve(size_t bytes) {
    kz_flat_reply *r = reading;
    if (r->used + bytes > r->capacity) {
        size_t capacity = r->capacity ? r->capacity : 4096;
        while (capacity < r->used + bytes) capacity *= 2;
        char *grown = realloc(r->bytes, capacity);
        if (!grown) return 0;
        r->bytes = grown;
        r->capacity = capacity;
    }
    if (r->count == r->ends_capacity) {
        size_t capacity = r->ends_capacity ? r->ends_capacity * 2 : 256;
        size_t *grown = realloc(r->ends, capacity * sizeof(size_t));
        if (!grown) return 0;
        r->ends = grown;
        r->ends_capacity = capacity;
    }
    return 1;
}

static void *create_string(const redisReadTask *task, char *str, size_t len) {
    kz_flat_reply *r = reading;
    if (task->parent == NULL) r->type = task->type;
    else if (task->parent->parent != NULL || task->type != REDIS_REPLY_STRING) r->nested = 1;
    if (!reserve(len)) return NULL;
    memcpy(r->bytes + r->used, str, len);
    r->used += len;
    r->ends[r->count++] = r->used;
    return &token;
}

static void *create_array(const redisReadTask *task, int elements) {
    (void)elements;
    if (task->parent == NULL) reading->type = REDIS_REPLY_ARRAY;
    else reading->nested = 1;
    return &token;
}

static void *create_integer(const redisReadTask *task, long long value) {
    if (task->parent == NULL) {
        reading->type = REDIS_REPLY_INTEGER;
        reading->integer = value;
    } else {
        reading->nested = 1;
    }
    return &token;
}

static void *create_nil(const redisReadTask *task) {
    if (task->parent == NULL) reading->type = REDIS_REPLY_NIL;
    else reading->nested = 1;
    return &token;
}

static void free_object(void *object) { (void)object; }

static redisReplyObjectFunctions flat_functions = {
    create_string, create_array, create_integer, create_nil, free_object
};

int kz_flat_reply_read(redisContext *context, kz_flat_reply *out) {
    out->type = 0;
    out->nested = 0;
    out->integer = 0;
    out->used = 0;
    out->count = 0;
    // Between two replies the reader holds no half-built object, so its functions can be
    // swapped for this one reply.
    redisReplyObjectFunctions *usual = context->reader->fn;
    context->reader->fn = &flat_functions;
    reading = out;
    void *reply = NULL;
    int status = redisGetReply(context, &reply);
    reading = NULL;
    if (status != REDIS_OK || reply == NULL) {
        // A reply cut short (the connection failed in the middle of it) would leave the reader
        // holding our token: freeing the context would hand it to hiredis's freeReplyObject,
        // and a later read would build onto it. The context is failed anyway: drop the part.
        context->reader->reply = NULL;
        context->reader->ridx = -1;
    }
    context->reader->fn = usual;
    return status == REDIS_OK && reply != NULL ? REDIS_OK : REDIS_ERR;
}

void kz_flat_reply_free(kz_flat_reply *reply) {
    free(reply->bytes);
    free(reply->ends);
    memset(reply, 0, sizeof(*reply));
}
