#ifndef CSWARM_PROBES_H
#define CSWARM_PROBES_H

#include <stdint.h>
#include <sys/socket.h>

#include "CSwarmInflate.h"

/// The fields of Linux `struct tcp_info` (linux/tcp.h) that the tcp probe reports, copied by name.
/// glibc's netinet/tcp.h stops at tcpi_total_retrans, so the kernel's own header is read in C.
typedef struct {
    uint32_t state;
    uint32_t retransmits;
    uint32_t snd_wscale;
    uint32_t rcv_wscale;
    uint32_t ecn_negotiated;
    uint32_t rtt_us;
    uint32_t rttvar_us;
    uint32_t min_rtt_us;
    uint32_t snd_cwnd;
    uint32_t snd_ssthresh;
    uint32_t snd_mss;
    uint32_t advmss;
    uint32_t pmtu;
    uint32_t total_retrans;
    uint64_t delivery_rate;
} cswarm_tcp_info;

/// Reads TCP_INFO from a connected socket into `out`. Returns 0, or -1 with errno set.
int cswarm_read_tcp_info(int fd, cswarm_tcp_info *out);

/// What `cswarm_recvmsg` learned from the control messages of one received datagram. Fields the
/// kernel did not report are -1 (or 0 for the timestamp and has_error).
typedef struct {
    /// Kernel receive time, CLOCK_REALTIME (SO_TIMESTAMPNS).
    int64_t rx_sec;
    int64_t rx_nsec;
    /// IP TTL / IPv6 hop limit of the received packet (IP_RECVTTL / IPV6_RECVHOPLIMIT).
    int32_t ttl;
    /// IP TOS / IPv6 traffic class byte of the received packet (IP_RECVTOS / IPV6_RECVTCLASS).
    int32_t tos;
    /// 1 when an IP_RECVERR / IPV6_RECVERR extended error was read (MSG_ERRQUEUE).
    int32_t has_error;
    uint32_t ee_errno;
    uint8_t ee_origin;
    uint8_t ee_type;
    uint8_t ee_code;
    uint32_t ee_info;
    /// The address of the node that sent the ICMP error (SO_EE_OFFENDER); family 0 when absent.
    struct sockaddr_storage offender;
} cswarm_recv_meta;

/// recvmsg() into `buffer`, parsing the control messages above into `meta`. `from` receives the
/// source address (may be NULL). Returns the byte count, or -1 with errno set.
long cswarm_recvmsg(int fd, void *buffer, unsigned long length, int flags, struct sockaddr_storage *from,
                    cswarm_recv_meta *meta);

/// Asks the kernel for the control messages `cswarm_recvmsg` reads: receive timestamps, TTL/hop
/// limit, TOS/traffic class and (when `errors` is 1) extended errors. `family` is AF_INET or
/// AF_INET6. Returns 0, or -1 with errno set for the first option the kernel refused.
int cswarm_enable_receive_info(int fd, int family, int errors);

/// Sets DSCP (0-63) and ECN (0-3) as the TOS / traffic class byte of sent packets.
int cswarm_set_tos(int fd, int family, int dscp, int ecn);

/// Sets the unicast TTL / hop limit of sent packets.
int cswarm_set_ttl(int fd, int family, int ttl);

/// Path MTU discovery mode: `probe` 1 sets DF and ignores the cached path MTU
/// (IP_PMTUDISC_PROBE), 0 restores the default (IP_PMTUDISC_WANT).
int cswarm_set_pmtu_probe(int fd, int family, int probe);

/// The kernel's current path MTU for a connected socket (IP_MTU / IPV6_MTU), or -1.
int cswarm_path_mtu(int fd, int family);

/// Waits up to `timeout_ns` (nanosecond precision, ppoll) for `fd` to become readable. Returns
/// poll's result: >0 ready, 0 timeout, -1 error.
int cswarm_wait_readable(int fd, int64_t timeout_ns);

/// CLOCK_REALTIME now, in the same clock as SO_TIMESTAMPNS.
void cswarm_realtime(int64_t *sec, int64_t *nsec);

#endif
