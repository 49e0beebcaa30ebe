#include "scheduler.h"

#include "streamswarm/mesh/v1/measurement.pb-c.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

const Streamswarm__Mesh__V1__ProbeKind swarm_capabilities[3] = {
    STREAMSWARM__MESH__V1__PROBE_KIND__PROBE_KIND_SYSTEM, STREAMSWARM__MESH__V1__PROBE_KIND__PROBE_KIND_TCP,
    STREAMSWARM__MESH__V1__PROBE_KIND__PROBE_KIND_ICMP};

int64_t swarm_monotonic_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int64_t swarm_realtime_nanos(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static const char *kind_name(int kind) {
    const ProtobufCEnumValue *value =
        protobuf_c_enum_descriptor_get_value(&streamswarm__mesh__v1__probe_kind__descriptor, kind);
    return value ? value->name : "an unknown probe kind";
}

static void stop_run(swarm_running_test *test) {
    if (!test->running) return;
    if (test->kind == STREAMSWARM__MESH__V1__PROBE_KIND__PROBE_KIND_TCP) swarm_tcp_free(&test->tcp);
    if (test->kind == STREAMSWARM__MESH__V1__PROBE_KIND__PROBE_KIND_ICMP) swarm_icmp_free(&test->icmp);
    test->running = 0;
}

void swarm_scheduler_remove(swarm_agent_state *agent, size_t index) {
    stop_run(&agent->tests[index]);
    agent->tests[index] = agent->tests[--agent->test_count];
}

void swarm_scheduler_remove_id(swarm_agent_state *agent, int64_t test_id) {
    for (size_t i = 0; i < agent->test_count; i++) {
        if (agent->tests[i].test_id == test_id) {
            swarm_scheduler_remove(agent, i);
            return;
        }
    }
}

int swarm_scheduler_accept(swarm_agent_state *agent, int64_t test_id, uint32_t revision,
                           const Streamswarm__Mesh__V1__TestSpec *spec, char *reason, size_t reason_size) {
    swarm_scheduler_remove_id(agent, test_id);
    if (!spec || spec->n_probes != 1) {
        snprintf(reason, reason_size, "the C agent runs tests of exactly one probe");
        return -1;
    }
    const Streamswarm__Mesh__V1__Probe *probe = spec->probes[0];
    int kind = probe->kind;
    int networked = kind == STREAMSWARM__MESH__V1__PROBE_KIND__PROBE_KIND_TCP ||
                    kind == STREAMSWARM__MESH__V1__PROBE_KIND__PROBE_KIND_ICMP;
    if (!networked && kind != STREAMSWARM__MESH__V1__PROBE_KIND__PROBE_KIND_SYSTEM) {
        snprintf(reason, reason_size, "%s is not supported by the C agent (it runs system, tcp and icmp)",
                 kind_name(kind));
        return -1;
    }
    const Streamswarm__Mesh__V1__Target *target = spec->target;
    if (networked && (!target || !target->host[0] || strlen(target->host) >= sizeof agent->tests[0].host)) {
        snprintf(reason, reason_size, "a %s test needs a target host", kind_name(kind));
        return -1;
    }
    if (kind == STREAMSWARM__MESH__V1__PROBE_KIND__PROBE_KIND_TCP && target->port == 0) {
        snprintf(reason, reason_size, "a tcp test needs a target port");
        return -1;
    }
    if (agent->test_count == SWARM_MAX_TESTS) {
        snprintf(reason, reason_size, "the C agent runs at most %d tests", SWARM_MAX_TESTS);
        return -1;
    }
    swarm_running_test *test = &agent->tests[agent->test_count++];
    memset(test, 0, sizeof *test);
    test->test_id = test_id;
    test->revision = revision;
    test->kind = kind;
    if (networked) {
        snprintf(test->host, sizeof test->host, "%s", target->host);
        test->port = target->port;
        test->family = target->family == STREAMSWARM__MESH__V1__ADDRESS_FAMILY__ADDRESS_FAMILY_IPV4   ? AF_INET
                       : target->family == STREAMSWARM__MESH__V1__ADDRESS_FAMILY__ADDRESS_FAMILY_IPV6 ? AF_INET6
                                                                                                       : AF_UNSPEC;
    }
    const Streamswarm__Mesh__V1__Schedule *schedule = spec->schedule;
    test->timeout_ms = schedule && schedule->timeout_ms ? (int)schedule->timeout_ms : 5000;
    test->interval_ms = schedule ? schedule->interval_ms : 0;
    test->count = schedule && schedule->count ? schedule->count : 1;
    test->packet_interval_ms = 1000;
    if (probe->options_case == STREAMSWARM__MESH__V1__PROBE__OPTIONS_ICMP && probe->icmp->packet_interval_ms) {
        test->packet_interval_ms = probe->icmp->packet_interval_ms;
    }
    if (spec->options) {
        test->payload_bytes = spec->options->packet_size;
        test->dscp = spec->options->dscp;
    }
    test->next_run_ms = swarm_monotonic_ms();
    test->in_snapshot = 1;
    return 0;
}

/* Appends a finished run's measurement to the spool. */
static int spool_measurement(swarm_agent_state *agent, Streamswarm__Mesh__V1__Measurement *measurement) {
    measurement->sequence = agent->spool.next_sequence;
    size_t size = streamswarm__mesh__v1__measurement__get_packed_size(measurement);
    uint8_t *bytes = malloc(size ? size : 1);
    if (!bytes) return -1;
    streamswarm__mesh__v1__measurement__pack(measurement, bytes);
    int rc = swarm_spool_append(&agent->spool, bytes, size);
    free(bytes);
    if (rc != 0) {
        fprintf(stderr, "swarm-agent-c: cannot write to the spool %s (%s): is the disk full or read-only?\n",
                agent->spool.dir, strerror(errno));
    }
    return rc;
}

/* Builds and spools the measurement of a finished run (or of a system run, done at once). */
static int record(swarm_agent_state *agent, swarm_running_test *test, Streamswarm__Mesh__V1__MeasurementStatus status,
                  const char *early_reason) {
    Streamswarm__Mesh__V1__Measurement measurement = STREAMSWARM__MESH__V1__MEASUREMENT__INIT;
    Streamswarm__Mesh__V1__SystemResult system = STREAMSWARM__MESH__V1__SYSTEM_RESULT__INIT;
    Streamswarm__Mesh__V1__TcpResult tcp = STREAMSWARM__MESH__V1__TCP_RESULT__INIT;
    Streamswarm__Mesh__V1__IcmpResult icmp = STREAMSWARM__MESH__V1__ICMP_RESULT__INIT;
    Streamswarm__Mesh__V1__RttSummary rtt = STREAMSWARM__MESH__V1__RTT_SUMMARY__INIT;
    char reason[320] = "";
    measurement.test_id = test->test_id;
    measurement.revision = test->revision;
    measurement.kind = test->kind;
    measurement.started_unix_nanos = test->run_started_nanos;
    measurement.status = status;
    if (early_reason) {
        snprintf(reason, sizeof reason, "%s", early_reason);
    } else if (test->kind == STREAMSWARM__MESH__V1__PROBE_KIND__PROBE_KIND_TCP) {
        measurement.status = swarm_tcp_result(&test->tcp, &tcp);
        measurement.result_case = STREAMSWARM__MESH__V1__MEASUREMENT__RESULT_TCP;
        measurement.tcp = &tcp;
        snprintf(reason, sizeof reason, "%s", test->tcp.error);
    } else if (test->kind == STREAMSWARM__MESH__V1__PROBE_KIND__PROBE_KIND_ICMP) {
        measurement.status = swarm_icmp_result(&test->icmp, &icmp, &rtt, reason, sizeof reason);
        measurement.result_case = STREAMSWARM__MESH__V1__MEASUREMENT__RESULT_ICMP;
        measurement.icmp = &icmp;
    } else if (swarm_system_probe_run(&agent->system, &system) != 0) {
        measurement.status = STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_FAILED;
        snprintf(reason, sizeof reason, "system: cannot read /proc");
    } else {
        measurement.status = STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_OK;
        measurement.result_case = STREAMSWARM__MESH__V1__MEASUREMENT__RESULT_SYSTEM;
        measurement.system = &system;
    }
    if (reason[0]) measurement.reason = reason;
    measurement.duration_nanos = swarm_realtime_nanos() - measurement.started_unix_nanos;
    int rc = spool_measurement(agent, &measurement);
    stop_run(test);
    return rc;
}

/* Starts one due run; a run that is over at once (system, or one that could not start) is recorded. */
static int start_run(swarm_agent_state *agent, swarm_running_test *test, int64_t now) {
    test->next_run_ms = test->interval_ms ? now + test->interval_ms : -1;
    test->run_started_nanos = swarm_realtime_nanos();
    test->running = 1;
    if (test->kind == STREAMSWARM__MESH__V1__PROBE_KIND__PROBE_KIND_TCP) {
        swarm_tcp_start(&test->tcp, test->host, test->port, test->timeout_ms, now);
        return test->tcp.done ? record(agent, test, 0, NULL) : 0;
    }
    if (test->kind == STREAMSWARM__MESH__V1__PROBE_KIND__PROBE_KIND_ICMP) {
        swarm_icmp_options options = {test->host,          test->family,  test->count, test->packet_interval_ms,
                                      (uint32_t)test->timeout_ms, test->payload_bytes, test->dscp};
        Streamswarm__Mesh__V1__MeasurementStatus status;
        char reason[256];
        if (swarm_icmp_start(&test->icmp, &options, now, &status, reason, sizeof reason) != 0) {
            return record(agent, test, status, reason);
        }
        return 0;
    }
    return record(agent, test, 0, NULL);
}

int64_t swarm_scheduler_prepare(swarm_agent_state *agent, struct pollfd *fds, size_t *count, size_t capacity,
                                int64_t latest) {
    int64_t now = swarm_monotonic_ms(), wake = latest;
    for (size_t i = 0; i < agent->test_count; i++) {
        swarm_running_test *test = &agent->tests[i];
        /* A run still in flight when the next is due: that slot is skipped, not queued. */
        if (!test->running && test->next_run_ms >= 0 && test->next_run_ms <= now) {
            if (start_run(agent, test, now) != 0) return now;
        }
        int64_t due = test->running ? (test->kind == STREAMSWARM__MESH__V1__PROBE_KIND__PROBE_KIND_TCP
                                           ? test->tcp.deadline_ms
                                           : swarm_icmp_wake(&test->icmp))
                                    : test->next_run_ms;
        if (due >= 0 && due < wake) wake = due;
        if (test->running && test->next_run_ms >= 0 && test->next_run_ms < wake) wake = test->next_run_ms;
        int fd = !test->running ? -1
                 : test->kind == STREAMSWARM__MESH__V1__PROBE_KIND__PROBE_KIND_TCP ? test->tcp.fd
                                                                                   : test->icmp.fd;
        if (fd >= 0 && *count < capacity) {
            fds[*count].fd = fd;
            fds[*count].events = test->kind == STREAMSWARM__MESH__V1__PROBE_KIND__PROBE_KIND_TCP ? POLLOUT : POLLIN;
            fds[*count].revents = 0;
            (*count)++;
        }
    }
    return wake;
}

int swarm_scheduler_service(swarm_agent_state *agent, const struct pollfd *fds, size_t first, size_t count) {
    int64_t now = swarm_monotonic_ms();
    for (size_t i = 0; i < agent->test_count; i++) {
        swarm_running_test *test = &agent->tests[i];
        if (!test->running) continue;
        int tcp = test->kind == STREAMSWARM__MESH__V1__PROBE_KIND__PROBE_KIND_TCP;
        int fd = tcp ? test->tcp.fd : test->icmp.fd;
        int ready = 0;
        for (size_t j = first; j < first + count; j++) {
            if (fds[j].fd == fd) ready = fds[j].revents != 0;
        }
        if (tcp) {
            swarm_tcp_advance(&test->tcp, now, ready);
            if (test->tcp.done && record(agent, test, 0, NULL) != 0) return -1;
        } else {
            swarm_icmp_advance(&test->icmp, now, ready);
            if (test->icmp.done && record(agent, test, 0, NULL) != 0) return -1;
        }
    }
    return 0;
}

int swarm_scheduler_idle(swarm_agent_state *agent, int64_t ms, volatile sig_atomic_t *stop) {
    int64_t until = swarm_monotonic_ms() + ms;
    while (!*stop) {
        int64_t now = swarm_monotonic_ms();
        if (now >= until) return 0;
        struct pollfd fds[SWARM_MAX_TESTS];
        size_t count = 0;
        int64_t wake = swarm_scheduler_prepare(agent, fds, &count, SWARM_MAX_TESTS, until);
        int64_t wait = wake - swarm_monotonic_ms();
        if (wait > 100) wait = 100; /* to see *stop soon after a signal that poll() did not catch */
        int rc = poll(fds, count, wait < 0 ? 0 : (int)wait);
        if (rc < 0 && errno != EINTR) return -1;
        if (swarm_scheduler_service(agent, fds, 0, rc > 0 ? count : 0) != 0) return -1;
    }
    return 0;
}
