#include "probe_icmp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Not in glibc's POSIX view of <sys/socket.h>; Linux values (asm-generic/socket.h). */
#ifndef SO_TIMESTAMPNS
#define SO_TIMESTAMPNS 35
#endif
#ifndef SCM_TIMESTAMPNS
#define SCM_TIMESTAMPNS SO_TIMESTAMPNS
#endif
#ifndef IP_RECVTTL
#define IP_RECVTTL 12
#endif
#ifndef IP_TTL
#define IP_TTL 2
#endif
#ifndef IPV6_RECVHOPLIMIT
#define IPV6_RECVHOPLIMIT 51
#endif
#ifndef IPV6_HOPLIMIT
#define IPV6_HOPLIMIT 52
#endif
#ifndef IPV6_TCLASS
#define IPV6_TCLASS 67
#endif

static int64_t realtime_nanos(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static uint16_t checksum(const uint8_t *bytes, size_t length) {
    uint32_t sum = 0;
    size_t i = 0;
    for (; i + 1 < length; i += 2) sum += (uint32_t)bytes[i] << 8 | bytes[i + 1];
    if (i < length) sum += (uint32_t)bytes[i] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Resolves the target; 0, or -1 with the reason. */
static int resolve(swarm_icmp_run *run, const swarm_icmp_options *options, char *reason, size_t reason_size) {
    struct addrinfo hints, *found = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = options->family;
    hints.ai_socktype = SOCK_DGRAM;
    int rc = getaddrinfo(options->host, NULL, &hints, &found);
    if (rc != 0 || !found) {
        snprintf(reason, reason_size, "icmp: cannot resolve %s: %s", options->host,
                 rc ? gai_strerror(rc) : "no address");
        if (found) freeaddrinfo(found);
        return -1;
    }
    memcpy(&run->target, found->ai_addr, found->ai_addrlen);
    run->target_length = found->ai_addrlen;
    run->family = found->ai_family;
    if (getnameinfo(found->ai_addr, found->ai_addrlen, run->address, sizeof run->address, NULL, 0, NI_NUMERICHOST)) {
        snprintf(run->address, sizeof run->address, "%s", options->host);
    }
    freeaddrinfo(found);
    return 0;
}

/* Opens the datagram socket, else a raw one; configures timestamps, TTL and DSCP. */
static int open_socket(swarm_icmp_run *run, uint32_t dscp, Streamswarm__Mesh__V1__MeasurementStatus *status,
                       char *reason, size_t reason_size) {
    int v6 = run->family == AF_INET6;
    int protocol = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
    run->fd = socket(run->family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
    int datagram_errno = errno;
    if (run->fd < 0) {
        run->raw = 1;
        run->fd = socket(run->family, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
    }
    if (run->fd < 0) {
        int raw_errno = errno;
        if ((datagram_errno == EACCES || datagram_errno == EPERM) && (raw_errno == EACCES || raw_errno == EPERM)) {
            *status = STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_NOT_PERMITTED;
            snprintf(reason, reason_size, "icmp: not permitted — add the agent's group to "
                                          "net.ipv4.ping_group_range or run with CAP_NET_RAW");
        } else {
            snprintf(reason, reason_size, "icmp: cannot open an ICMP socket (datagram: %s; raw: %s)",
                     strerror(datagram_errno), strerror(raw_errno));
        }
        return -1;
    }
    int on = 1, tos = (int)(dscp << 2);
    int ok = setsockopt(run->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) == 0;
    ok = ok && (v6 ? setsockopt(run->fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on)
                   : setsockopt(run->fd, IPPROTO_IP, IP_RECVTTL, &on, sizeof on)) == 0;
    if (ok && dscp > 0) {
        ok = (v6 ? setsockopt(run->fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos)
                 : setsockopt(run->fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos)) == 0;
    }
    if (!ok) {
        snprintf(reason, reason_size, "icmp: cannot configure the ICMP socket: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int swarm_icmp_start(swarm_icmp_run *run, const swarm_icmp_options *options, int64_t now_ms,
                     Streamswarm__Mesh__V1__MeasurementStatus *status, char *reason, size_t reason_size) {
    memset(run, 0, sizeof *run);
    run->fd = -1;
    run->ttl = -1;
    run->highest = -1;
    run->done = 1;
    *status = STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_FAILED;
    run->count = options->count ? options->count : 1;
    run->interval_ms = options->interval_ms;
    run->timeout_ms = options->timeout_ms ? options->timeout_ms : 5000;
    run->payload_bytes = options->payload_bytes >= 8 ? options->payload_bytes : 56;
    if (run->payload_bytes > 65000) run->payload_bytes = 65000;
    run->sent_nanos = calloc(run->count, sizeof *run->sent_nanos);
    run->rtts_us = malloc(run->count * sizeof *run->rtts_us);
    if (!run->sent_nanos || !run->rtts_us) {
        snprintf(reason, reason_size, "icmp: out of memory for %u requests", run->count);
        return -1;
    }
    for (uint32_t i = 0; i < run->count; i++) run->rtts_us[i] = -1;
    if (resolve(run, options, reason, reason_size) != 0) return -1;
    if (open_socket(run, options->dscp, status, reason, reason_size) != 0) return -1;
    run->identifier = (uint16_t)(1 + rand() % 65535);
    run->token = ((uint64_t)rand() << 32 ^ (uint64_t)rand()) << 16;
    run->done = 0;
    run->next_send_ms = now_ms;
    swarm_icmp_advance(run, now_ms, 0);
    return 0;
}

int64_t swarm_icmp_wake(const swarm_icmp_run *run) {
    return run->sent < run->count ? run->next_send_ms : run->deadline_ms;
}

static void send_request(swarm_icmp_run *run) {
    uint8_t packet[8 + 65000];
    size_t length = 8 + run->payload_bytes;
    uint32_t index = run->sent;
    uint16_t sequence = (uint16_t)index;
    memset(packet, 0, length);
    packet[0] = run->family == AF_INET6 ? 128 : 8;
    packet[4] = (uint8_t)(run->identifier >> 8);
    packet[5] = (uint8_t)run->identifier;
    packet[6] = (uint8_t)(sequence >> 8);
    packet[7] = (uint8_t)sequence;
    uint64_t token = run->token + index;
    for (int i = 0; i < 8; i++) packet[8 + i] = (uint8_t)(token >> (56 - 8 * i));
    for (size_t i = 16; i < length; i++) packet[i] = (uint8_t)(i - 8);
    /* The kernel fills the checksum for datagram sockets and ICMPv6, not for raw IPv4. */
    uint16_t sum = checksum(packet, length);
    packet[2] = (uint8_t)(sum >> 8);
    packet[3] = (uint8_t)sum;
    run->sent_nanos[index] = realtime_nanos();
    if (sendto(run->fd, packet, length, MSG_DONTWAIT, (const struct sockaddr *)&run->target, run->target_length) <
        0) {
        run->send_errno = errno;
        run->sent_nanos[index] = 0;
    }
    run->sent++;
}

/* One datagram: an echo reply of this run counts once; anything else is ignored. */
static void receive_one(swarm_icmp_run *run, const uint8_t *bytes, size_t length, int64_t received_nanos,
                        int ttl) {
    size_t offset = 0;
    if (run->family == AF_INET && run->raw) {
        if (length < 20 || bytes[0] >> 4 != 4) return;
        offset = (size_t)(bytes[0] & 0x0f) * 4;
        ttl = bytes[8];
    }
    if (length < offset + 16) return;
    const uint8_t *icmp = bytes + offset;
    if (icmp[0] != (run->family == AF_INET6 ? 129 : 0) || icmp[1] != 0) return;
    /* A datagram socket's identifier is the kernel's (which filters for us); a raw one's is ours. */
    if (run->raw && (uint16_t)(icmp[4] << 8 | icmp[5]) != run->identifier) return;
    uint64_t token = 0;
    for (int i = 0; i < 8; i++) token = token << 8 | icmp[8 + i];
    uint64_t index = token - run->token;
    if (index >= run->sent || run->sent_nanos[index] == 0) return;
    if (run->rtts_us[index] >= 0) {
        run->duplicates++;
        return;
    }
    double rtt = (double)(received_nanos - run->sent_nanos[index]) / 1e3;
    run->rtts_us[index] = rtt < 0 ? 0 : rtt;
    run->received++;
    if ((int64_t)index < run->highest) run->reordered++;
    if ((int64_t)index > run->highest) run->highest = (int64_t)index;
    if (ttl >= 0) run->ttl = ttl;
}

static void receive_all(swarm_icmp_run *run) {
    for (;;) {
        uint8_t bytes[4096];
        union {
            struct cmsghdr align;
            uint8_t space[256];
        } control;
        struct iovec vector = {bytes, sizeof bytes};
        struct msghdr message;
        memset(&message, 0, sizeof message);
        message.msg_iov = &vector;
        message.msg_iovlen = 1;
        message.msg_control = control.space;
        message.msg_controllen = sizeof control.space;
        ssize_t got = recvmsg(run->fd, &message, MSG_DONTWAIT);
        if (got < 0) return;
        int64_t at = 0;
        int ttl = -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec stamp;
                memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
                at = (int64_t)stamp.tv_sec * 1000000000 + stamp.tv_nsec;
            } else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
                       (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)) {
                memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
            }
        }
        receive_one(run, bytes, (size_t)got, at ? at : realtime_nanos(), ttl);
    }
}

void swarm_icmp_advance(swarm_icmp_run *run, int64_t now_ms, int readable) {
    if (run->done) return;
    if (readable) receive_all(run);
    while (run->sent < run->count && now_ms >= run->next_send_ms) {
        send_request(run);
        run->next_send_ms += run->interval_ms;
        if (run->sent == run->count) run->deadline_ms = now_ms + run->timeout_ms;
    }
    /* Requests that could not be sent are not waited for. */
    uint32_t failed = 0;
    for (uint32_t i = 0; i < run->sent; i++) failed += run->sent_nanos[i] == 0;
    if (run->sent == run->count && (run->received + failed >= run->count || now_ms >= run->deadline_ms)) {
        run->done = 1;
    }
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *sorted, size_t count, double q) {
    if (count < 2) return sorted[0];
    double rank = q * (double)(count - 1);
    size_t low = (size_t)rank, high = low + 1 < count ? low + 1 : count - 1;
    return sorted[low] + (sorted[high] - sorted[low]) * (rank - (double)low);
}

void swarm_rtt_summary(const double *rtts_us, size_t count, Streamswarm__Mesh__V1__RttSummary *summary) {
    double *values = malloc((count ? count : 1) * sizeof *values);
    size_t n = 0;
    for (size_t i = 0; values && i < count; i++) {
        if (rtts_us[i] >= 0) values[n++] = rtts_us[i];
    }
    if (n == 0) {
        free(values);
        return;
    }
    double mean = 0, variance = 0, jitter = 0;
    for (size_t i = 0; i < n; i++) mean += values[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) variance += (values[i] - mean) * (values[i] - mean);
    variance /= (double)n;
    for (size_t i = 1; i < n; i++) jitter += values[i] > values[i - 1] ? values[i] - values[i - 1] : values[i - 1] - values[i];
    if (n > 1) {
        summary->_jitter_us_case = STREAMSWARM__MESH__V1__RTT_SUMMARY___JITTER_US_JITTER_US;
        summary->jitter_us = jitter / (double)(n - 1);
    }
    qsort(values, n, sizeof *values, compare_doubles);
    summary->_min_us_case = STREAMSWARM__MESH__V1__RTT_SUMMARY___MIN_US_MIN_US;
    summary->min_us = values[0];
    summary->_max_us_case = STREAMSWARM__MESH__V1__RTT_SUMMARY___MAX_US_MAX_US;
    summary->max_us = values[n - 1];
    summary->_avg_us_case = STREAMSWARM__MESH__V1__RTT_SUMMARY___AVG_US_AVG_US;
    summary->avg_us = mean;
    summary->_mdev_us_case = STREAMSWARM__MESH__V1__RTT_SUMMARY___MDEV_US_MDEV_US;
    summary->mdev_us = sqrt(variance);
    summary->_p50_us_case = STREAMSWARM__MESH__V1__RTT_SUMMARY___P50_US_P50_US;
    summary->p50_us = percentile(values, n, 0.50);
    summary->_p90_us_case = STREAMSWARM__MESH__V1__RTT_SUMMARY___P90_US_P90_US;
    summary->p90_us = percentile(values, n, 0.90);
    summary->_p99_us_case = STREAMSWARM__MESH__V1__RTT_SUMMARY___P99_US_P99_US;
    summary->p99_us = percentile(values, n, 0.99);
    free(values);
}

Streamswarm__Mesh__V1__MeasurementStatus swarm_icmp_result(swarm_icmp_run *run,
                                                           Streamswarm__Mesh__V1__IcmpResult *result,
                                                           Streamswarm__Mesh__V1__RttSummary *rtt, char *reason,
                                                           size_t reason_size) {
    result->address = run->address;
    result->sent = run->count;
    result->received = run->received;
    result->loss_percent = run->count ? (double)(run->count - run->received) / (double)run->count * 100 : 0;
    result->duplicates = run->duplicates;
    result->reordered = run->reordered;
    swarm_rtt_summary(run->rtts_us, run->count, rtt);
    result->rtt = rtt;
    result->n_rtts_us = run->count;
    result->rtts_us = run->rtts_us;
    result->socket_mode = run->raw ? "raw" : "datagram";
    if (run->ttl >= 0) {
        result->_reply_ttl_case = STREAMSWARM__MESH__V1__ICMP_RESULT___REPLY_TTL_REPLY_TTL;
        result->reply_ttl = (uint32_t)run->ttl;
    }
    reason[0] = '\0';
    if (run->received > 0) return STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_OK;
    if (run->send_errno) {
        snprintf(reason, reason_size, "icmp: cannot send to %s: %s", run->address, strerror(run->send_errno));
        return STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_FAILED;
    }
    snprintf(reason, reason_size, "icmp: no reply from %s to %u echo request(s) within %u ms", run->address,
             run->count, run->timeout_ms);
    return STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_TIMEOUT;
}

void swarm_icmp_free(swarm_icmp_run *run) {
    if (run->fd >= 0) close(run->fd);
    run->fd = -1;
    free(run->sent_nanos);
    free(run->rtts_us);
    run->sent_nanos = NULL;
    run->rtts_us = NULL;
}
