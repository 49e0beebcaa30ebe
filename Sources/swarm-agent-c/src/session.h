/* One mesh session of the C agent, following the agent rows of the transition table in
 * Proto/README.md: awaiting Welcome -> active -> closed. */
#ifndef SWARM_SESSION_H
#define SWARM_SESSION_H

#include "scheduler.h"
#include "tls.h"

#include <signal.h>

typedef struct {
    const char *host;
    const char *port;
    swarm_tls_config tls;
} swarm_agent_config;

typedef enum {
    SWARM_SESSION_STOPPED,   /* asked to stop (SIGTERM): Goodbye sent, do not reconnect */
    SWARM_SESSION_FAILED,    /* never got a Welcome: back off longer */
    SWARM_SESSION_ENDED      /* had a session that ended: reconnect soon */
} swarm_session_end;

/* Runs one session until it ends or `*stop` is set. `*reconnect_after_ms` is when the server asked
 * to be dialled again (Goodbye, a non-fatal error), or -1 for the caller's backoff. */
swarm_session_end swarm_session_run(const swarm_agent_config *config, swarm_agent_state *agent,
                                    volatile sig_atomic_t *stop, int64_t *reconnect_after_ms);

#endif
