// Relaxed atomic loads and stores of single bytes in plain memory, for the counting filter of
// holders that sold-out BOOKs read without the provider's lock (Seats/MemberCounts.swift).
// Swift's Atomic needs a stored property of its own per value; a table of counters needs
// atomics over one allocation. static inline, so the Swift optimiser inlines them.
#ifndef KEZEK_ATOMIC_BYTES_H
#define KEZEK_ATOMIC_BYTES_H

#include <stdint.h>

static inline uint8_t kz_byte_load_relaxed(const uint8_t *address) {
    return __atomic_load_n(address, __ATOMIC_RELAXED);
}

static inline void kz_byte_store_relaxed(uint8_t *address, uint8_t value) {
    __atomic_store_n(address, value, __ATOMIC_RELAXED);
}

#endif
