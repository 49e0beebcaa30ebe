/* The `icmp` probe of the C agent: `count` echo requests `interval_ms` apart, RTTs from kernel
 * receive timestamps (SO_TIMESTAMPNS) against the send time, the same figures the Swift agent
 * reports. An unprivileged ICMP datagram socket first (net.ipv4.ping_group_range), a raw socket
 * second (root or CAP_NET_RAW); when neither is allowed the run says what to change.
 *
 * Non-blocking: the agent's one poll loop waits on `fd` and wakes at `swarm_icmp_wake`. */
#ifndef SWARM_PROBE_ICMP_H
#define SWARM_PROBE_ICMP_H

#include "streamswarm/mesh/v1/measurement.pb-c.h"

#include <stdint.h>
#include <sys/socket.h>

typedef struct {
    int fd;                   /* -1 when the run never opened a socket */
    int family;
    int raw;                  /* 1: raw socket (we filter by identifier), 0: datagram */
    uint16_t identifier;
    uint64_t token;           /* payload marker of this run; request i carries token + i */
    struct sockaddr_storage target;
    socklen_t target_length;
    char address[64];
    uint32_t count, sent, received, duplicates, reordered;
    int64_t highest;          /* highest request index answered (-1: none) */
    int64_t *sent_nanos;      /* per request: CLOCK_REALTIME at send (0: not sent) */
    double *rtts_us;          /* per request: RTT, or -1 without a reply */
    int ttl;                  /* of the last reply, -1 unknown */
    uint32_t interval_ms, timeout_ms, payload_bytes;
    int64_t next_send_ms, deadline_ms; /* CLOCK_MONOTONIC */
    int send_errno;
    int done;
} swarm_icmp_run;

typedef struct {
    const char *host;
    int family;               /* AF_UNSPEC, AF_INET or AF_INET6 */
    uint32_t count, interval_ms, timeout_ms, payload_bytes, dscp;
} swarm_icmp_options;

/* Opens the socket and sends the first request. Returns 0 when the run is under way; otherwise
 * fills `reason`, sets `*status` (FAILED or NOT_PERMITTED) and the run is already done. */
int swarm_icmp_start(swarm_icmp_run *run, const swarm_icmp_options *options, int64_t now_ms,
                     Streamswarm__Mesh__V1__MeasurementStatus *status, char *reason, size_t reason_size);

/* When the run next needs attention (a send or its deadline), CLOCK_MONOTONIC ms. */
int64_t swarm_icmp_wake(const swarm_icmp_run *run);

/* Reads replies (when `readable`), sends what is due; sets `done` once every request was answered
 * or the timeout after the last one passed. */
void swarm_icmp_advance(swarm_icmp_run *run, int64_t now_ms, int readable);

/* Fills `result` and `rtt` (pointing into the run, which must outlive them) and returns the status
 * with `reason` for a failed or timed-out run. */
Streamswarm__Mesh__V1__MeasurementStatus swarm_icmp_result(swarm_icmp_run *run,
                                                           Streamswarm__Mesh__V1__IcmpResult *result,
                                                           Streamswarm__Mesh__V1__RttSummary *rtt, char *reason,
                                                           size_t reason_size);

/* Closes the socket and frees the arrays. */
void swarm_icmp_free(swarm_icmp_run *run);

/* RTT statistics as the Swift agent computes them (population mdev, linear percentiles, RFC 3550
 * mean absolute difference of consecutive replies); `rtts_us` in send order, negatives skipped. */
void swarm_rtt_summary(const double *rtts_us, size_t count, Streamswarm__Mesh__V1__RttSummary *summary);

#endif
