// Atomics on plain memory, for tables that sold-out BOOKs touch without the provider's lock:
// the counting filter of members (relaxed bytes, Seats/MemberCounts.swift) and the striped
// refusal counters (sequentially consistent 64-bit words, Seats/RefusalCount.swift). Swift's
// Atomic needs a stored property of its own per value; these tables need atomics over one
// allocation. static inline, so the Swift optimiser inlines them.
#ifndef KEZEK_ATOMIC_BYTES_H
#define KEZEK_ATOMIC_BYTES_H

#include <stdint.h>

static inline uint8_t kz_byte_load_relaxed(const uint8_t *address) {
    return __atomic_load_n(address, __ATOMIC_RELAXED);
}

static inline void kz_byte_store_relaxed(uint8_t *address, uint8_t value) {
    __atomic_store_n(address, value, __ATOMIC_RELAXED);
}

static inline void kz_word_add_seq_cst(uint64_t *address, uint64_t value) {
    __atomic_fetch_add(address, value, __ATOMIC_SEQ_CST);
}

static inline uint64_t kz_word_load_seq_cst(const uint64_t *address) {
    return __atomic_load_n(address, __ATOMIC_SEQ_CST);
}

/// Refusal stripes per provider (Seats/RefusalCount.swift).
#define KZ_THREAD_STRIPES 8

/// This thread's refusal stripe (0 to KZ_THREAD_STRIPES - 1): handed out round robin at a thread's first use, so
/// up to KZ_THREAD_STRIPES threads never share one (the stripe's cache line would pass between them).
extern __thread int kz_thread_stripe_plus_one;
int kz_assign_thread_stripe(void);

static inline int kz_thread_stripe(void) {
    int stripe = kz_thread_stripe_plus_one;
    return stripe ? stripe - 1 : kz_assign_thread_stripe();
}

#endif
