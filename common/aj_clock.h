/* aj_clock.h - the monotonic clock, for intervals, timeouts and rates (never for record times). */
#ifndef AJ_CLOCK_H
#define AJ_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Microseconds on CLOCK_MONOTONIC. */
static inline int64_t aj_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Milliseconds on CLOCK_MONOTONIC. */
static inline int64_t aj_now_ms(void) {
    return aj_now_us() / 1000;
}

#endif /* AJ_CLOCK_H */
