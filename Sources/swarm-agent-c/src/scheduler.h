/* What the C agent runs, whether connected or not: the accepted tests, each test's run in flight
 * (icmp and tcp are non-blocking, waited on by the caller's poll loop), and the spool that every
 * finished run's measurement is appended to. */
#ifndef SWARM_SCHEDULER_H
#define SWARM_SCHEDULER_H

#include "probe_icmp.h"
#include "probe_system.h"
#include "probe_tcp.h"
#include "spool.h"
#include "streamswarm/mesh/v1/test_spec.pb-c.h"

#include <poll.h>
#include <signal.h>

#define SWARM_MAX_TESTS 64

/* A test this agent runs (`system`, `tcp` or `icmp`). */
typedef struct {
    int64_t test_id;
    uint32_t revision;
    int kind;              /* Streamswarm__Mesh__V1__ProbeKind */
    char host[256];        /* tcp and icmp: the target */
    unsigned port;
    int family;            /* AF_UNSPEC, AF_INET, AF_INET6 */
    int timeout_ms;
    uint32_t interval_ms;  /* between runs; 0: run once */
    uint32_t count, packet_interval_ms, payload_bytes, dscp; /* icmp */
    int64_t next_run_ms;   /* monotonic; -1 when it ran once and is finished */
    int in_snapshot;       /* seen in the snapshot being received */
    int running;           /* a run is in flight: */
    int64_t run_started_nanos;
    swarm_tcp_run tcp;
    swarm_icmp_run icmp;
} swarm_running_test;

/* What outlives a session: the spool, the tests, the probe's last sample. */
typedef struct {
    swarm_spool spool;
    swarm_system_probe system;
    swarm_running_test tests[SWARM_MAX_TESTS];
    size_t test_count;
} swarm_agent_state;

/* The probes this agent runs, for Hello's capabilities. */
extern const Streamswarm__Mesh__V1__ProbeKind swarm_capabilities[3];

/* Takes a test (replacing one with the same id). Returns 0, or -1 with why it is refused in
 * `reason` ("… is not supported by the C agent", a missing target, too many tests). */
int swarm_scheduler_accept(swarm_agent_state *agent, int64_t test_id, uint32_t revision,
                           const Streamswarm__Mesh__V1__TestSpec *spec, char *reason, size_t reason_size);

/* Stops a test (its run in flight is dropped, unmeasured). */
void swarm_scheduler_remove(swarm_agent_state *agent, size_t index);
void swarm_scheduler_remove_id(swarm_agent_state *agent, int64_t test_id);

/* Starts due runs; adds the sockets of runs in flight to `fds` from `*count` on (up to `capacity`);
 * returns when next to call again (monotonic ms), at most `latest`. */
int64_t swarm_scheduler_prepare(swarm_agent_state *agent, struct pollfd *fds, size_t *count, size_t capacity,
                                int64_t latest);

/* Advances runs after poll() (`fds[first..first+count)` as prepare added them) and spools what
 * finished. Returns 0, or -1 when the spool cannot be written. */
int swarm_scheduler_service(swarm_agent_state *agent, const struct pollfd *fds, size_t first, size_t count);

/* Runs tests without a session for up to `ms` (while reconnecting), waking early on `*stop`. */
int swarm_scheduler_idle(swarm_agent_state *agent, int64_t ms, volatile sig_atomic_t *stop);

int64_t swarm_monotonic_ms(void);
int64_t swarm_realtime_nanos(void);

#endif
