/* The C agent's non-blocking probes, in a network namespace of the test's own (unshare), so the
 * ICMP socket kinds can be switched with the per-namespace sysctls and nothing leaves the box:
 * datagram socket where ping_group_range allows it, raw otherwise (root), not permitted as nobody
 * with neither; replies counted once, a silent target times out; tcp connected and refused. */
#define _GNU_SOURCE
#include "check.h"
#include "probe_icmp.h"
#include "probe_tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static int write_file(const char *path, const char *text) {
    FILE *file = fopen(path, "w");
    if (!file) return -1;
    int rc = fputs(text, file) < 0 ? -1 : 0;
    return fclose(file) != 0 ? -1 : rc;
}

/* Runs an icmp probe to completion with the agent's kind of poll loop. */
static Streamswarm__Mesh__V1__MeasurementStatus ping(const char *host, uint32_t count, uint32_t timeout_ms,
                                                     swarm_icmp_run *run, char *reason, size_t size) {
    swarm_icmp_options options = {host, AF_UNSPEC, count, 20, timeout_ms, 56, 0};
    Streamswarm__Mesh__V1__MeasurementStatus status;
    if (swarm_icmp_start(run, &options, now_ms(), &status, reason, size) != 0) return status;
    while (!run->done) {
        struct pollfd ready = {run->fd, POLLIN, 0};
        int64_t wait = swarm_icmp_wake(run) - now_ms();
        int rc = poll(&ready, 1, wait < 0 ? 0 : (int)wait);
        swarm_icmp_advance(run, now_ms(), rc > 0);
    }
    return 0;
}

static void test_rtt_summary(void) {
    double rtts[] = {10, -1, 30, 20};
    Streamswarm__Mesh__V1__RttSummary summary = STREAMSWARM__MESH__V1__RTT_SUMMARY__INIT;
    swarm_rtt_summary(rtts, 4, &summary);
    CHECK(summary.min_us == 10 && summary.max_us == 30 && summary.avg_us == 20);
    CHECK(summary.p50_us == 20 && fabs(summary.p90_us - 28) < 1e-9);
    CHECK(summary.jitter_us == 15); /* (|30-10| + |20-30|) / 2, in send order */
    CHECK(fabs(summary.mdev_us - sqrt(200.0 / 3.0)) < 1e-9);
    Streamswarm__Mesh__V1__RttSummary none = STREAMSWARM__MESH__V1__RTT_SUMMARY__INIT;
    double missing[] = {-1, -1};
    swarm_rtt_summary(missing, 2, &none);
    CHECK(none._min_us_case == STREAMSWARM__MESH__V1__RTT_SUMMARY___MIN_US__NOT_SET);
}

static void test_icmp_socket_kinds(void) {
    swarm_icmp_run run;
    char reason[256];
    Streamswarm__Mesh__V1__IcmpResult result = STREAMSWARM__MESH__V1__ICMP_RESULT__INIT;
    Streamswarm__Mesh__V1__RttSummary rtt = STREAMSWARM__MESH__V1__RTT_SUMMARY__INIT;

    CHECK(write_file("/proc/sys/net/ipv4/ping_group_range", "0 2147483647") == 0);
    CHECK(ping("127.0.0.1", 5, 2000, &run, reason, sizeof reason) == 0);
    CHECK(swarm_icmp_result(&run, &result, &rtt, reason, sizeof reason) ==
          STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_OK);
    CHECK(strcmp(result.socket_mode, "datagram") == 0);
    CHECK(result.sent == 5 && result.received == 5 && result.loss_percent == 0 && result.duplicates == 0);
    CHECK(result.n_rtts_us == 5 && result.rtts_us[4] >= 0 && rtt.max_us < 1e6);
    CHECK(result._reply_ttl_case == STREAMSWARM__MESH__V1__ICMP_RESULT___REPLY_TTL_REPLY_TTL && result.reply_ttl == 64);
    CHECK(strcmp(result.address, "127.0.0.1") == 0);
    swarm_icmp_free(&run);

    /* Closed range: the raw socket, as root; its own requests on loopback are not replies. */
    CHECK(write_file("/proc/sys/net/ipv4/ping_group_range", "1 0") == 0);
    Streamswarm__Mesh__V1__IcmpResult raw = STREAMSWARM__MESH__V1__ICMP_RESULT__INIT;
    Streamswarm__Mesh__V1__RttSummary raw_rtt = STREAMSWARM__MESH__V1__RTT_SUMMARY__INIT;
    CHECK(ping("127.0.0.1", 3, 2000, &run, reason, sizeof reason) == 0);
    CHECK(swarm_icmp_result(&run, &raw, &raw_rtt, reason, sizeof reason) ==
          STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_OK);
    CHECK(strcmp(raw.socket_mode, "raw") == 0 && raw.received == 3 && raw.duplicates == 0 && raw.reply_ttl == 64);
    swarm_icmp_free(&run);

    /* A target that never answers: every request waited for up to the timeout, then TIMEOUT. */
    CHECK(write_file("/proc/sys/net/ipv4/icmp_echo_ignore_all", "1") == 0);
    Streamswarm__Mesh__V1__IcmpResult silent = STREAMSWARM__MESH__V1__ICMP_RESULT__INIT;
    Streamswarm__Mesh__V1__RttSummary silent_rtt = STREAMSWARM__MESH__V1__RTT_SUMMARY__INIT;
    int64_t started = now_ms();
    CHECK(ping("127.0.0.1", 2, 300, &run, reason, sizeof reason) == 0);
    CHECK(now_ms() - started >= 300);
    CHECK(swarm_icmp_result(&run, &silent, &silent_rtt, reason, sizeof reason) ==
          STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_TIMEOUT);
    CHECK(silent.received == 0 && silent.loss_percent == 100 && silent.rtts_us[0] == -1);
    CHECK(strstr(reason, "no reply from 127.0.0.1 to 2 echo request(s) within 300 ms") != NULL);
    swarm_icmp_free(&run);
    CHECK(write_file("/proc/sys/net/ipv4/icmp_echo_ignore_all", "0") == 0);

    /* Unreachable: no route in this namespace, the send fails and the run says so at once. */
    Streamswarm__Mesh__V1__IcmpResult unreachable = STREAMSWARM__MESH__V1__ICMP_RESULT__INIT;
    Streamswarm__Mesh__V1__RttSummary unreachable_rtt = STREAMSWARM__MESH__V1__RTT_SUMMARY__INIT;
    CHECK(ping("192.0.2.1", 1, 5000, &run, reason, sizeof reason) == 0);
    CHECK(swarm_icmp_result(&run, &unreachable, &unreachable_rtt, reason, sizeof reason) ==
          STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_FAILED);
    CHECK(strstr(reason, "icmp: cannot send to 192.0.2.1: Network is unreachable") != NULL);
    swarm_icmp_free(&run);

    /* As nobody with neither socket kind allowed: NOT_PERMITTED, naming the fix. */
    pid_t child = fork();
    if (child == 0) {
        if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) {
            _exit(3);
        }
        Streamswarm__Mesh__V1__MeasurementStatus status = ping("127.0.0.1", 1, 1000, &run, reason, sizeof reason);
        swarm_icmp_free(&run);
        int named = strcmp(reason, "icmp: not permitted — add the agent's group to net.ipv4.ping_group_range or "
                                   "run with CAP_NET_RAW") == 0;
        _exit(status == STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_NOT_PERMITTED && named ? 0 : 4);
    }
    int child_status = 0;
    waitpid(child, &child_status, 0);
    CHECK(WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0);
}

static void run_tcp(const char *host, unsigned port, swarm_tcp_run *run) {
    swarm_tcp_start(run, host, port, 2000, now_ms());
    while (!run->done) {
        struct pollfd ready = {run->fd, POLLOUT, 0};
        int64_t wait = run->deadline_ms - now_ms();
        int rc = poll(&ready, 1, wait < 0 ? 0 : (int)wait);
        swarm_tcp_advance(run, now_ms(), rc > 0);
    }
}

static void test_tcp(void) {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    CHECK(bind(listener, (struct sockaddr *)&address, sizeof address) == 0 && listen(listener, 4) == 0);
    CHECK(getsockname(listener, (struct sockaddr *)&address, &length) == 0);
    unsigned port = ntohs(address.sin_port);

    swarm_tcp_run run;
    Streamswarm__Mesh__V1__TcpResult result = STREAMSWARM__MESH__V1__TCP_RESULT__INIT;
    run_tcp("127.0.0.1", port, &run);
    CHECK(swarm_tcp_result(&run, &result) == STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_OK);
    CHECK(result.outcome == STREAMSWARM__MESH__V1__TCP_OUTCOME__TCP_OUTCOME_CONNECTED && result.connect_us > 0);
    close(listener);

    Streamswarm__Mesh__V1__TcpResult refused = STREAMSWARM__MESH__V1__TCP_RESULT__INIT;
    run_tcp("127.0.0.1", port, &run);
    CHECK(swarm_tcp_result(&run, &refused) == STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_FAILED);
    CHECK(refused.outcome == STREAMSWARM__MESH__V1__TCP_OUTCOME__TCP_OUTCOME_REFUSED);
    CHECK(strstr(refused.error, "Connection refused") != NULL);

    Streamswarm__Mesh__V1__TcpResult unresolved = STREAMSWARM__MESH__V1__TCP_RESULT__INIT;
    run_tcp("no-such-host.invalid", 80, &run);
    CHECK(swarm_tcp_result(&run, &unresolved) == STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_FAILED);
    CHECK(strstr(unresolved.error, "cannot resolve no-such-host.invalid") != NULL);
}

int main(void) {
    test_rtt_summary();
    if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
        fprintf(stderr, "test_probes: the socket tests need root and a network namespace of their own "
                        "(unshare: %s); run them as root\n", strerror(errno));
        return 1;
    }
    if (system("ip link set lo up") != 0) {
        fprintf(stderr, "test_probes: cannot bring up lo in the test's namespace (is iproute2 installed?)\n");
        return 1;
    }
    test_icmp_socket_kinds();
    test_tcp();
    return check_summary("test_probes");
}
