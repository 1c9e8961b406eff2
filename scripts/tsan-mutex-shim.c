// scripts/tsan-mutex-shim.c: makes Swift's Synchronization.Mutex visible to ThreadSanitizer
// on Linux. Loaded with LD_PRELOAD by scripts/sanitize.sh (thread) only.
//
// Why: Mutex's fast paths are inlined atomics (TSan sees them), but under contention it uses
// _MutexHandle._lockSlow/_unlockSlow in libswiftSynchronization.so, which is not instrumented
// and hands the lock over with FUTEX_LOCK_PI/FUTEX_UNLOCK_PI inside the kernel. TSan then sees
// no happens-before edge between the critical sections of two threads and reports every
// contended Mutex.withLock body as a "Swift access race" (reproduce: two threads appending
// to a Mutex<[Int]> 20,000 times each, built with swiftc -sanitize=thread).
//
// This shim interposes the three out-of-line slow paths and adds the edge the kernel made:
// release on the handle's address before unlocking, acquire after locking. It adds no other
// synchronisation, so real races (an access outside the lock) are still reported.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

// Weak: processes without the TSan runtime (redis-server, redis-cli) load this harmlessly.
extern void __tsan_acquire(void *addr) __attribute__((weak));
extern void __tsan_release(void *addr) __attribute__((weak));

#define SWIFTCALL __attribute__((swiftcall))
// clang lowers swift_context to LLVM swiftself (r13 on x86-64), where Swift passes self.
#define SWIFTSELF __attribute__((swift_context))

// _MutexHandle is address-only (it holds an Atomic), so `borrowing self` arrives as its
// address in the swift_self register.
typedef SWIFTCALL void (*LockSlow)(uint32_t selfId, SWIFTSELF void *handle);
typedef SWIFTCALL bool (*TryLockSlow)(SWIFTSELF void *handle);
typedef SWIFTCALL void (*UnlockSlow)(SWIFTSELF void *handle);

#define LOCK_SLOW "$s15Synchronization12_MutexHandleV9_lockSlowyys6UInt32VF"
#define TRY_LOCK_SLOW "$s15Synchronization12_MutexHandleV12_tryLockSlowSbyF"
#define UNLOCK_SLOW "$s15Synchronization12_MutexHandleV11_unlockSlowyyF"

static void *next_symbol(const char *name) {
    void *symbol = dlsym(RTLD_NEXT, name);
    if (!symbol) {
        fprintf(stderr, "tsan-mutex-shim: %s not found: %s\n", name, dlerror());
        abort();
    }
    return symbol;
}

SWIFTCALL void shim_lock_slow(uint32_t selfId, SWIFTSELF void *handle) __asm__(LOCK_SLOW);
SWIFTCALL void shim_lock_slow(uint32_t selfId, SWIFTSELF void *handle) {
    static LockSlow real;
    if (!real) real = (LockSlow)next_symbol(LOCK_SLOW);
    real(selfId, handle);
    if (__tsan_acquire) __tsan_acquire(handle);
}

SWIFTCALL bool shim_try_lock_slow(SWIFTSELF void *handle) __asm__(TRY_LOCK_SLOW);
SWIFTCALL bool shim_try_lock_slow(SWIFTSELF void *handle) {
    static TryLockSlow real;
    if (!real) real = (TryLockSlow)next_symbol(TRY_LOCK_SLOW);
    bool locked = real(handle);
    if (locked && __tsan_acquire) __tsan_acquire(handle);
    return locked;
}

SWIFTCALL void shim_unlock_slow(SWIFTSELF void *handle) __asm__(UNLOCK_SLOW);
SWIFTCALL void shim_unlock_slow(SWIFTSELF void *handle) {
    static UnlockSlow real;
    if (!real) real = (UnlockSlow)next_symbol(UNLOCK_SLOW);
    if (__tsan_release) __tsan_release(handle);
    real(handle);
}
