#include "CSwarmProbes.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/tcp.h>

int cswarm_read_tcp_info(int fd, cswarm_tcp_info *out) {
    struct tcp_info info;
    socklen_t length = sizeof(info);
    memset(&info, 0, sizeof(info));
    memset(out, 0, sizeof(*out));
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) {
        return -1;
    }
    out->state = info.tcpi_state;
    out->retransmits = info.tcpi_retransmits;
    out->snd_wscale = info.tcpi_snd_wscale;
    out->rcv_wscale = info.tcpi_rcv_wscale;
    out->ecn_negotiated = (info.tcpi_options & TCPI_OPT_ECN) ? 1 : 0;
    out->rtt_us = info.tcpi_rtt;
    out->rttvar_us = info.tcpi_rttvar;
    out->min_rtt_us = info.tcpi_min_rtt;
    out->snd_cwnd = info.tcpi_snd_cwnd;
    out->snd_ssthresh = info.tcpi_snd_ssthresh;
    out->snd_mss = info.tcpi_snd_mss;
    out->advmss = info.tcpi_advmss;
    out->pmtu = info.tcpi_pmtu;
    out->total_retrans = info.tcpi_total_retrans;
    out->delivery_rate = info.tcpi_delivery_rate;
    return 0;
}
