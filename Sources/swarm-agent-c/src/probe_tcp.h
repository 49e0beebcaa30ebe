/* The `tcp` probe of the C agent: connect time to host:port (SYN to established), or why not.
 * Non-blocking: the agent's one poll loop waits on `fd` for POLLOUT until `deadline_ms`. */
#ifndef SWARM_PROBE_TCP_H
#define SWARM_PROBE_TCP_H

#include "streamswarm/mesh/v1/measurement.pb-c.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int fd;                 /* -1 once finished */
    unsigned port;
    char address[128];
    char error[256];
    double started_us;      /* CLOCK_MONOTONIC */
    double connect_us;
    int64_t deadline_ms;    /* CLOCK_MONOTONIC */
    int timeout_ms;
    int failure;            /* errno of a failed connect, 0 when connected */
    int timed_out;
    int done;
} swarm_tcp_run;

/* Resolves host and starts the connect; a run that cannot start is done at once (see `error`). */
void swarm_tcp_start(swarm_tcp_run *run, const char *host, unsigned port, int timeout_ms, int64_t now_ms);

/* Finishes the connect when the socket is writable (`writable`) or the deadline passed. */
void swarm_tcp_advance(swarm_tcp_run *run, int64_t now_ms, int writable);

/* Fills `result` (strings point into the run) and returns the measurement status: OK when
 * connected, FAILED when refused, unreachable or not resolved, TIMEOUT. */
Streamswarm__Mesh__V1__MeasurementStatus swarm_tcp_result(swarm_tcp_run *run, Streamswarm__Mesh__V1__TcpResult *result);

void swarm_tcp_free(swarm_tcp_run *run);

#endif
