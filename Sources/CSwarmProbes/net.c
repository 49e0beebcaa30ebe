// Control-message plumbing for the packet probes: CMSG_* are macros Swift cannot call.
#define _GNU_SOURCE
#include "CSwarmProbes.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <poll.h>
#include <netinet/in.h>
#include <linux/errqueue.h>

long cswarm_recvmsg(int fd, void *buffer, unsigned long length, int flags, struct sockaddr_storage *from,
                    cswarm_recv_meta *meta) {
    char control[1024];
    struct iovec iov = {.iov_base = buffer, .iov_len = length};
    struct sockaddr_storage source;
    struct msghdr msg = {0};
    msg.msg_name = &source;
    msg.msg_namelen = sizeof(source);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    memset(&source, 0, sizeof(source));
    memset(meta, 0, sizeof(*meta));
    meta->ttl = -1;
    meta->tos = -1;

    ssize_t n = recvmsg(fd, &msg, flags);
    if (n < 0) return -1;
    if (from) *from = source;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof(ts));
            meta->rx_sec = ts.tv_sec;
            meta->rx_nsec = ts.tv_nsec;
        } else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
                   (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)) {
            int value;
            memcpy(&value, CMSG_DATA(c), sizeof(value));
            meta->ttl = value;
        } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) {
            // IP_TOS arrives as one byte.
            unsigned char value;
            memcpy(&value, CMSG_DATA(c), 1);
            meta->tos = value;
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS) {
            int value;
            memcpy(&value, CMSG_DATA(c), sizeof(value));
            meta->tos = value;
        } else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                   (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
            struct sock_extended_err ee;
            memcpy(&ee, CMSG_DATA(c), sizeof(ee));
            meta->has_error = 1;
            meta->ee_errno = ee.ee_errno;
            meta->ee_origin = ee.ee_origin;
            meta->ee_type = ee.ee_type;
            meta->ee_code = ee.ee_code;
            meta->ee_info = ee.ee_info;
            const struct sockaddr *offender =
                (const struct sockaddr *)((const unsigned char *)CMSG_DATA(c) + sizeof(struct sock_extended_err));
            size_t available = c->cmsg_len - CMSG_LEN(sizeof(struct sock_extended_err));
            if (offender->sa_family == AF_INET && available >= sizeof(struct sockaddr_in)) {
                memcpy(&meta->offender, offender, sizeof(struct sockaddr_in));
            } else if (offender->sa_family == AF_INET6 && available >= sizeof(struct sockaddr_in6)) {
                memcpy(&meta->offender, offender, sizeof(struct sockaddr_in6));
            }
        }
    }
    return (long)n;
}

static int set_int(int fd, int level, int name, int value) {
    return setsockopt(fd, level, name, &value, sizeof(value));
}

int cswarm_enable_receive_info(int fd, int family, int errors) {
    if (set_int(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1) != 0) return -1;
    if (family == AF_INET6) {
        if (set_int(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1) != 0) return -1;
        if (set_int(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, 1) != 0) return -1;
        if (errors && set_int(fd, IPPROTO_IPV6, IPV6_RECVERR, 1) != 0) return -1;
    } else {
        if (set_int(fd, IPPROTO_IP, IP_RECVTTL, 1) != 0) return -1;
        if (set_int(fd, IPPROTO_IP, IP_RECVTOS, 1) != 0) return -1;
        if (errors && set_int(fd, IPPROTO_IP, IP_RECVERR, 1) != 0) return -1;
    }
    return 0;
}

int cswarm_set_tos(int fd, int family, int dscp, int ecn) {
    int tos = ((dscp & 0x3f) << 2) | (ecn & 0x3);
    if (family == AF_INET6) return set_int(fd, IPPROTO_IPV6, IPV6_TCLASS, tos);
    return set_int(fd, IPPROTO_IP, IP_TOS, tos);
}

int cswarm_set_ttl(int fd, int family, int ttl) {
    if (family == AF_INET6) return set_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl);
    return set_int(fd, IPPROTO_IP, IP_TTL, ttl);
}

int cswarm_set_pmtu_probe(int fd, int family, int probe) {
    if (family == AF_INET6) {
        return set_int(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, probe ? IPV6_PMTUDISC_PROBE : IPV6_PMTUDISC_WANT);
    }
    return set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, probe ? IP_PMTUDISC_PROBE : IP_PMTUDISC_WANT);
}

int cswarm_path_mtu(int fd, int family) {
    int mtu = -1;
    socklen_t length = sizeof(mtu);
    int rc = family == AF_INET6 ? getsockopt(fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &length)
                                : getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &length);
    return rc == 0 ? mtu : -1;
}

void cswarm_realtime(int64_t *sec, int64_t *nsec) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *sec = ts.tv_sec;
    *nsec = ts.tv_nsec;
}

int cswarm_wait_readable(int fd, int64_t timeout_ns) {
    // ppoll needs _GNU_SOURCE, which Swift's Glibc module does not define.
    struct pollfd pfd = {.fd = fd, .events = POLLIN, .revents = 0};
    if (timeout_ns < 0) timeout_ns = 0;
    struct timespec ts = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
    return ppoll(&pfd, 1, &ts, NULL);
}
