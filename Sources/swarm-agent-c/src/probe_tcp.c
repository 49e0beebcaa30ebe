#include "probe_tcp.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double monotonic_us(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1e6 + (double)now.tv_nsec / 1e3;
}

static void finish(swarm_tcp_run *run, int failure) {
    run->connect_us = monotonic_us() - run->started_us;
    run->failure = failure;
    if (failure) snprintf(run->error, sizeof run->error, "%s port %u: %s", run->address, run->port, strerror(failure));
    if (run->fd >= 0) close(run->fd);
    run->fd = -1;
    run->done = 1;
}

void swarm_tcp_start(swarm_tcp_run *run, const char *host, unsigned port, int timeout_ms, int64_t now_ms) {
    memset(run, 0, sizeof *run);
    run->fd = -1;
    run->port = port;
    run->timeout_ms = timeout_ms;
    run->deadline_ms = now_ms + timeout_ms;
    char service[16];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints, *found = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, service, &hints, &found);
    if (rc != 0 || !found) {
        snprintf(run->error, sizeof run->error, "cannot resolve %s: %s", host, rc ? gai_strerror(rc) : "no address");
        run->failure = -1;
        run->done = 1;
        if (found) freeaddrinfo(found);
        return;
    }
    if (getnameinfo(found->ai_addr, found->ai_addrlen, run->address, sizeof run->address, NULL, 0, NI_NUMERICHOST)) {
        snprintf(run->address, sizeof run->address, "%s", host);
    }
    run->fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (run->fd < 0) {
        snprintf(run->error, sizeof run->error, "socket: %s", strerror(errno));
        run->failure = -1;
        run->done = 1;
        freeaddrinfo(found);
        return;
    }
    run->started_us = monotonic_us();
    rc = connect(run->fd, found->ai_addr, found->ai_addrlen);
    int failure = rc == 0 ? 0 : errno;
    freeaddrinfo(found);
    if (failure != EINPROGRESS) finish(run, failure);
}

void swarm_tcp_advance(swarm_tcp_run *run, int64_t now_ms, int writable) {
    if (run->done) return;
    if (writable) {
        int failure = 0;
        socklen_t length = sizeof failure;
        if (getsockopt(run->fd, SOL_SOCKET, SO_ERROR, &failure, &length) != 0) failure = errno;
        finish(run, failure);
    } else if (now_ms >= run->deadline_ms) {
        finish(run, 0);
        run->timed_out = 1;
        snprintf(run->error, sizeof run->error, "no answer from %s port %u within %d ms", run->address, run->port,
                 run->timeout_ms);
    }
}

Streamswarm__Mesh__V1__MeasurementStatus swarm_tcp_result(swarm_tcp_run *run, Streamswarm__Mesh__V1__TcpResult *result) {
    result->address = run->address;
    result->error = run->error;
    result->port = run->port;
    if (run->timed_out) {
        result->outcome = STREAMSWARM__MESH__V1__TCP_OUTCOME__TCP_OUTCOME_TIMEOUT;
        return STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_TIMEOUT;
    }
    if (run->failure == 0) {
        result->outcome = STREAMSWARM__MESH__V1__TCP_OUTCOME__TCP_OUTCOME_CONNECTED;
        result->_connect_us_case = STREAMSWARM__MESH__V1__TCP_RESULT___CONNECT_US_CONNECT_US;
        result->connect_us = run->connect_us;
        return STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_OK;
    }
    result->outcome = run->failure == ECONNREFUSED ? STREAMSWARM__MESH__V1__TCP_OUTCOME__TCP_OUTCOME_REFUSED
                      : (run->failure == ENETUNREACH || run->failure == EHOSTUNREACH)
                          ? STREAMSWARM__MESH__V1__TCP_OUTCOME__TCP_OUTCOME_UNREACHABLE
                          : STREAMSWARM__MESH__V1__TCP_OUTCOME__TCP_OUTCOME_ERROR;
    return STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_FAILED;
}

void swarm_tcp_free(swarm_tcp_run *run) {
    if (run->fd >= 0) close(run->fd);
    run->fd = -1;
}
