/* A minimal check macro for the C agent's tests: a failed check prints where and what, the test
 * goes on, and the exit status says whether any failed. */
#ifndef SWARM_CHECK_H
#define SWARM_CHECK_H

#include <stdio.h>

static int check_failures = 0;

#define CHECK(condition)                                                                    \
    do {                                                                                     \
        if (!(condition)) {                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition);    \
            check_failures++;                                                                \
        }                                                                                    \
    } while (0)

static inline int check_summary(const char *name) {
    if (check_failures == 0) {
        printf("%s: ok\n", name);
        return 0;
    }
    fprintf(stderr, "%s: %d checks failed\n", name, check_failures);
    return 1;
}

#endif
