// Reads one hiredis reply without a redisReply per element: the strings of a flat array (a
// set's members, a sorted set's members and scores, a hash's fields and values) go back to
// back into one buffer. A cold start at 100x the city reads millions of members, and two
// mallocs and frees for each of them were a quarter of its time.
#ifndef KEZEK_FLAT_REPLY_H
#define KEZEK_FLAT_REPLY_H

#include <stddef.h>
#include <hiredis/hiredis.h>

typedef struct kz_flat_reply {
    int type;            // REDIS_REPLY_* of the reply itself
    int nested;          // 1 when an element was not a string (an array, integer or nil)
    long long integer;   // the value of an integer reply
    char *bytes;         // the strings, back to back (an error's or status's text too)
    size_t used, capacity;
    size_t *ends;        // where each string ends in `bytes`
    size_t count, ends_capacity;
} kz_flat_reply;

/// Reads the next reply of `context` into `out` (its buffers are reused; free them with
/// kz_flat_reply_free). Returns REDIS_OK, or REDIS_ERR on a connection error (context->err).
int kz_flat_reply_read(redisContext *context, kz_flat_reply *out);

void kz_flat_reply_free(kz_flat_reply *reply);

#endif
