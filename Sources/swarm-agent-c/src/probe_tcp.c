#include "probe_tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
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

Streamswarm__Mesh__V1__MeasurementStatus swarm_tcp_probe_run(const char *host, unsigned port, int timeout_ms,
                                                             Streamswarm__Mesh__V1__TcpResult *result,
                                                             char *address, size_t address_size, char *error,
                                                             size_t error_size) {
    address[0] = error[0] = '\0';
    result->address = address;
    result->error = error;
    result->port = port;
    char service[16];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints, *found = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, service, &hints, &found);
    if (rc != 0 || !found) {
        snprintf(error, error_size, "cannot resolve %s: %s", host, gai_strerror(rc));
        result->outcome = STREAMSWARM__MESH__V1__TCP_OUTCOME__TCP_OUTCOME_ERROR;
        return STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_FAILED;
    }
    if (getnameinfo(found->ai_addr, found->ai_addrlen, address, (socklen_t)address_size, NULL, 0, NI_NUMERICHOST) != 0) {
        snprintf(address, address_size, "%s", host);
    }
    int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(error, error_size, "socket: %s", strerror(errno));
        freeaddrinfo(found);
        result->outcome = STREAMSWARM__MESH__V1__TCP_OUTCOME__TCP_OUTCOME_ERROR;
        return STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_FAILED;
    }
    double started = monotonic_us();
    rc = connect(fd, found->ai_addr, found->ai_addrlen);
    freeaddrinfo(found);
    int failure = 0;
    if (rc != 0 && errno != EINPROGRESS) {
        failure = errno;
    } else if (rc != 0) {
        struct pollfd ready = {fd, POLLOUT, 0};
        rc = poll(&ready, 1, timeout_ms);
        if (rc == 0) {
            close(fd);
            snprintf(error, error_size, "no answer from %s port %u within %d ms", address, port, timeout_ms);
            result->outcome = STREAMSWARM__MESH__V1__TCP_OUTCOME__TCP_OUTCOME_TIMEOUT;
            return STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_TIMEOUT;
        }
        socklen_t length = sizeof failure;
        if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length) != 0) failure = errno;
    }
    double elapsed = monotonic_us() - started;
    close(fd);
    if (failure == 0) {
        result->outcome = STREAMSWARM__MESH__V1__TCP_OUTCOME__TCP_OUTCOME_CONNECTED;
        result->_connect_us_case = STREAMSWARM__MESH__V1__TCP_RESULT___CONNECT_US_CONNECT_US;
        result->connect_us = elapsed;
        return STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_OK;
    }
    snprintf(error, error_size, "%s port %u: %s", address, port, strerror(failure));
    result->outcome = failure == ECONNREFUSED ? STREAMSWARM__MESH__V1__TCP_OUTCOME__TCP_OUTCOME_REFUSED
                      : (failure == ENETUNREACH || failure == EHOSTUNREACH)
                          ? STREAMSWARM__MESH__V1__TCP_OUTCOME__TCP_OUTCOME_UNREACHABLE
                          : STREAMSWARM__MESH__V1__TCP_OUTCOME__TCP_OUTCOME_ERROR;
    return STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_FAILED;
}
