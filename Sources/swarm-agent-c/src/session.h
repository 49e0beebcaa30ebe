/* One mesh session of the C agent, following the agent rows of the transition table in
 * Proto/README.md: awaiting Welcome -> active -> closed. */
#ifndef SWARM_SESSION_H
#define SWARM_SESSION_H

#include "probe_system.h"
#include "spool.h"
#include "tls.h"

#include <signal.h>

typedef struct {
    const char *host;
    const char *port;
    swarm_tls_config tls;
} swarm_agent_config;

#define SWARM_MAX_TESTS 64

/* A test this agent runs (`system` or `tcp` in this version). */
typedef struct {
    int64_t test_id;
    uint32_t revision;
    int kind;              /* Streamswarm__Mesh__V1__ProbeKind */
    char host[256];        /* tcp: the target */
    unsigned port;
    int timeout_ms;
    uint32_t interval_ms;
    int64_t next_run_ms;   /* monotonic */
    int in_snapshot;       /* seen in the snapshot being received */
} swarm_running_test;

/* What outlives a session: the spool, the tests, the probe's last sample. */
typedef struct {
    swarm_spool spool;
    swarm_system_probe system;
    swarm_running_test tests[SWARM_MAX_TESTS];
    size_t test_count;
} swarm_agent_state;

typedef enum {
    SWARM_SESSION_STOPPED,   /* asked to stop (SIGTERM): Goodbye sent, do not reconnect */
    SWARM_SESSION_FAILED,    /* never got a Welcome: back off longer */
    SWARM_SESSION_ENDED      /* had a session that ended: reconnect soon */
} swarm_session_end;

/* Runs one session until it ends or `*stop` is set. */
swarm_session_end swarm_session_run(const swarm_agent_config *config, swarm_agent_state *agent,
                                    volatile sig_atomic_t *stop);

#endif
