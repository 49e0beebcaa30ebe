#ifndef CSWARM_PROBES_H
#define CSWARM_PROBES_H

#include <stdint.h>

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

#endif
