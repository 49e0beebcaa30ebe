#include "session.h"

#include "frame.h"
#include "streamswarm/mesh/v1/measurement.pb-c.h"
#include "streamswarm/mesh/v1/session.pb-c.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define AGENT_VERSION "0.1.0-c"

typedef enum { AWAITING_WELCOME, ACTIVE, DRAINING } session_state;

/* One session's state; the agent's (tests, spool) outlives it. */
typedef struct {
    swarm_tls tls;
    swarm_agent_state *agent;
    session_state state;
    uint32_t heartbeat_ms, max_frame;
    uint64_t sequence, server_last, in_flight;
    int64_t next_heartbeat, last_heard, drain_deadline; /* CLOCK_MONOTONIC ms */
    int64_t reconnect_after_ms;                        /* -1: the caller's backoff */
} session;

/* Packs `frame` behind its 5-byte header and sends it. */
static int send_frame(swarm_tls *tls, const Streamswarm__Mesh__V1__Frame *frame) {
    size_t size = streamswarm__mesh__v1__frame__get_packed_size(frame);
    uint8_t *bytes = malloc(size + SWARM_FRAME_HEADER_BYTES);
    if (!bytes) return -1;
    swarm_frame_write_header(bytes, (uint32_t)size);
    streamswarm__mesh__v1__frame__pack(frame, bytes + SWARM_FRAME_HEADER_BYTES);
    int rc = swarm_tls_write_all(tls, bytes, size + SWARM_FRAME_HEADER_BYTES);
    free(bytes);
    return rc;
}

static int send_hello(swarm_tls *tls, const swarm_agent_state *agent) {
    struct utsname name;
    memset(&name, 0, sizeof name);
    uname(&name);
    Streamswarm__Mesh__V1__HostFacts host = STREAMSWARM__MESH__V1__HOST_FACTS__INIT;
    host.hostname = name.nodename;
    host.os_name = name.sysname;
    host.kernel = name.release;
    host.arch = name.machine;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    host.cpu_count = cpus > 0 ? (uint32_t)cpus : 0;
    host.memory_bytes = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
    Streamswarm__Mesh__V1__Hello hello = STREAMSWARM__MESH__V1__HELLO__INIT;
    hello.protocol_version = 1;
    hello.agent_version = AGENT_VERSION;
    hello.host = &host;
    hello.n_capabilities = sizeof swarm_capabilities / sizeof swarm_capabilities[0];
    hello.capabilities = (Streamswarm__Mesh__V1__ProbeKind *)swarm_capabilities;
    hello.last_acked_batch_id = agent->spool.batch_id ? agent->spool.batch_id - 1 : agent->spool.last_batch_id;
    hello.spool_depth = swarm_spool_depth(&agent->spool);
    Streamswarm__Mesh__V1__Frame frame = STREAMSWARM__MESH__V1__FRAME__INIT;
    frame.body_case = STREAMSWARM__MESH__V1__FRAME__BODY_HELLO;
    frame.hello = &hello;
    return send_frame(tls, &frame);
}

static int send_heartbeat(swarm_tls *tls, uint64_t sequence) {
    Streamswarm__Mesh__V1__LoadSnapshot load = STREAMSWARM__MESH__V1__LOAD_SNAPSHOT__INIT;
    FILE *loadavg = fopen("/proc/loadavg", "r");
    if (loadavg) {
        if (fscanf(loadavg, "%lf", &load.load1) != 1) load.load1 = 0;
        fclose(loadavg);
    }
    Streamswarm__Mesh__V1__Heartbeat heartbeat = STREAMSWARM__MESH__V1__HEARTBEAT__INIT;
    heartbeat.sequence = sequence;
    heartbeat.sent_unix_nanos = swarm_realtime_nanos();
    heartbeat.load = &load;
    Streamswarm__Mesh__V1__Frame frame = STREAMSWARM__MESH__V1__FRAME__INIT;
    frame.body_case = STREAMSWARM__MESH__V1__FRAME__BODY_HEARTBEAT;
    frame.heartbeat = &heartbeat;
    return send_frame(tls, &frame);
}

static int send_ack(swarm_tls *tls, int64_t test_id, uint32_t revision, int accepted, const char *reason) {
    Streamswarm__Mesh__V1__AssignmentAck ack = STREAMSWARM__MESH__V1__ASSIGNMENT_ACK__INIT;
    ack.test_id = test_id;
    ack.revision = revision;
    ack.accepted = accepted;
    ack.reason = (char *)reason;
    Streamswarm__Mesh__V1__Frame frame = STREAMSWARM__MESH__V1__FRAME__INIT;
    frame.body_case = STREAMSWARM__MESH__V1__FRAME__BODY_ASSIGNMENT_ACK;
    frame.assignment_ack = &ack;
    return send_frame(tls, &frame);
}

static void send_goodbye(swarm_tls *tls) {
    Streamswarm__Mesh__V1__Goodbye goodbye = STREAMSWARM__MESH__V1__GOODBYE__INIT;
    goodbye.reason = STREAMSWARM__MESH__V1__GOODBYE__REASON__REASON_SHUTDOWN;
    goodbye.message = "the C agent is stopping";
    Streamswarm__Mesh__V1__Frame frame = STREAMSWARM__MESH__V1__FRAME__INIT;
    frame.body_case = STREAMSWARM__MESH__V1__FRAME__BODY_GOODBYE;
    frame.goodbye = &goodbye;
    send_frame(tls, &frame);
}

/* A test assignment: accepted when the scheduler takes it, else refused with its reason. A
 * snapshot's last frame drops the tests it did not name. */
static int on_assignment(swarm_tls *tls, swarm_agent_state *agent,
                         const Streamswarm__Mesh__V1__TestAssignment *assignment) {
    int result = 0;
    if (assignment->test_id != 0) {
        char reason[200] = "";
        int accepted = swarm_scheduler_accept(agent, assignment->test_id, assignment->revision, assignment->spec,
                                              reason, sizeof reason) == 0;
        result = send_ack(tls, assignment->test_id, assignment->revision, accepted, accepted ? "" : reason);
    }
    if (assignment->snapshot && assignment->last_of_snapshot) {
        for (size_t i = 0; i < agent->test_count;) {
            if (!agent->tests[i].in_snapshot) {
                swarm_scheduler_remove(agent, i);
            } else {
                agent->tests[i++].in_snapshot = 0;
            }
        }
    }
    return result;
}

/* A stand-in for a measurement too large for any batch (Proto/README.md, "Size"): FAILED, the same
 * test, sequence and time, no result, a reason saying how large it was. */
static Streamswarm__Mesh__V1__Measurement *too_large(const Streamswarm__Mesh__V1__Measurement *original, size_t size,
                                                     size_t limit, char *reason, size_t reason_size) {
    static Streamswarm__Mesh__V1__Measurement stand_in;
    Streamswarm__Mesh__V1__Measurement init = STREAMSWARM__MESH__V1__MEASUREMENT__INIT;
    stand_in = init;
    stand_in.test_id = original->test_id;
    stand_in.revision = original->revision;
    stand_in.sequence = original->sequence;
    stand_in.kind = original->kind;
    stand_in.started_unix_nanos = original->started_unix_nanos;
    stand_in.duration_nanos = original->duration_nanos;
    stand_in.status = STREAMSWARM__MESH__V1__MEASUREMENT_STATUS__MEASUREMENT_STATUS_FAILED;
    snprintf(reason, reason_size, "the measurement was %zu bytes, more than a batch may carry (%zu)", size, limit);
    stand_in.reason = reason;
    return &stand_in;
}

/* Sends the spool's next batch when none is in flight (a window of one: the C agent's own limit). */
static int send_batch(session *s) {
    swarm_agent_state *agent = s->agent;
    if (s->state != ACTIVE || s->in_flight || swarm_spool_depth(&agent->spool) == 0) return 0;
    uint64_t id = 0;
    uint8_t **records = NULL;
    size_t *lengths = NULL, count = 0;
    /* Three quarters of the frame limit the server announced, as the Swift agent does. */
    size_t limit = (size_t)s->max_frame / 4u * 3u;
    if (swarm_spool_batch(&agent->spool, s->server_last, limit, &id, &records, &lengths, &count) != 0) return -1;
    int rc = 0;
    if (count > 0) {
        Streamswarm__Mesh__V1__Measurement **measurements = calloc(count, sizeof *measurements);
        Streamswarm__Mesh__V1__Measurement **decoded = calloc(count, sizeof *decoded);
        size_t n = 0;
        char reason[128];
        for (size_t i = 0; measurements && decoded && i < count; i++) {
            decoded[n] = streamswarm__mesh__v1__measurement__unpack(NULL, lengths[i], records[i]);
            if (!decoded[n]) continue;
            measurements[n] = lengths[i] > limit ? too_large(decoded[n], lengths[i], limit, reason, sizeof reason)
                                                 : decoded[n];
            n++;
        }
        Streamswarm__Mesh__V1__ResultBatch batch = STREAMSWARM__MESH__V1__RESULT_BATCH__INIT;
        batch.batch_id = id;
        batch.n_measurements = n;
        batch.measurements = measurements;
        batch.created_unix_nanos = swarm_realtime_nanos();
        Streamswarm__Mesh__V1__Frame frame = STREAMSWARM__MESH__V1__FRAME__INIT;
        frame.body_case = STREAMSWARM__MESH__V1__FRAME__BODY_RESULT_BATCH;
        frame.result_batch = &batch;
        rc = measurements && decoded ? send_frame(&s->tls, &frame) : -1;
        if (rc == 0) s->in_flight = id;
        for (size_t i = 0; decoded && i < n; i++) streamswarm__mesh__v1__measurement__free_unpacked(decoded[i], NULL);
        free(measurements);
        free(decoded);
    }
    for (size_t i = 0; i < count; i++) free(records[i]);
    free(records);
    free(lengths);
    return rc;
}

typedef enum { KEEP_GOING, END_SESSION } handled;

static handled on_error(session *s, const Streamswarm__Mesh__V1__Error *error) {
    fprintf(stderr, "swarm-agent-c: the server reported %s%s: %s\n",
            protobuf_c_enum_descriptor_get_value(&streamswarm__mesh__v1__error__code__descriptor, error->code)
                ? protobuf_c_enum_descriptor_get_value(&streamswarm__mesh__v1__error__code__descriptor, error->code)->name
                : "an unknown error",
            error->fatal ? " (fatal)" : "", error->message);
    if (error->fatal || s->state == AWAITING_WELCOME) return END_SESSION;
    if (error->code == STREAMSWARM__MESH__V1__ERROR__CODE__CODE_BATCH_ID_REUSED && error->batch_id == s->in_flight) {
        /* The server holds this id with other measurements: the batch goes again under a new id. */
        if (swarm_spool_renumber(&s->agent->spool, s->in_flight, error->last_batch_id) != 0) return END_SESSION;
        fprintf(stderr, "swarm-agent-c: batch %llu renumbered %llu\n", (unsigned long long)s->in_flight,
                (unsigned long long)s->agent->spool.batch_id);
        s->in_flight = 0;
        return KEEP_GOING;
    }
    if (error->code == STREAMSWARM__MESH__V1__ERROR__CODE__CODE_INVALID_BATCH && error->batch_id == s->in_flight) {
        fprintf(stderr, "swarm-agent-c: the server refused batch %llu as invalid; %llu measurements dropped\n",
                (unsigned long long)s->in_flight, (unsigned long long)s->agent->spool.batch_count);
        if (swarm_spool_acked(&s->agent->spool, s->in_flight) != 0) return END_SESSION;
        s->in_flight = 0;
        return KEEP_GOING;
    }
    /* Any other non-fatal error: reconnect after 1 s, replaying what is unacknowledged. */
    s->reconnect_after_ms = 1000;
    return END_SESSION;
}

static handled on_goodbye(session *s, const Streamswarm__Mesh__V1__Goodbye *goodbye) {
    fprintf(stderr, "swarm-agent-c: the server said goodbye: %s\n", goodbye->message);
    if (goodbye->reason == STREAMSWARM__MESH__V1__GOODBYE__REASON__REASON_REPLACED) {
        s->reconnect_after_ms = 30000; /* two processes on one certificate must not flap */
    } else if (goodbye->reconnect_after_ms > 0) {
        s->reconnect_after_ms = goodbye->reconnect_after_ms;
    }
    return END_SESSION;
}

/* One frame from the server, by the agent rows of the transition table. */
static handled handle(session *s, const Streamswarm__Mesh__V1__Frame *frame) {
    swarm_agent_state *agent = s->agent;
    if (s->state == AWAITING_WELCOME && frame->body_case != STREAMSWARM__MESH__V1__FRAME__BODY_WELCOME &&
        frame->body_case != STREAMSWARM__MESH__V1__FRAME__BODY_ERROR) {
        fprintf(stderr, "swarm-agent-c: frame (body %d) before Welcome; closing the session\n", frame->body_case);
        return END_SESSION;
    }
    switch (frame->body_case) {
    case STREAMSWARM__MESH__V1__FRAME__BODY_WELCOME:
        if (s->state != AWAITING_WELCOME) break;
        s->state = ACTIVE;
        if (frame->welcome->heartbeat_interval_ms > 0) s->heartbeat_ms = frame->welcome->heartbeat_interval_ms;
        s->next_heartbeat = swarm_monotonic_ms() + s->heartbeat_ms;
        s->server_last = frame->welcome->last_batch_id;
        if (frame->welcome->max_frame_bytes > 0 && frame->welcome->max_frame_bytes < s->max_frame) {
            s->max_frame = frame->welcome->max_frame_bytes;
        }
        fprintf(stderr, "swarm-agent-c: connected as %s (session %s, heartbeat every %u ms)\n",
                frame->welcome->agent_name, frame->welcome->session_id, s->heartbeat_ms);
        return KEEP_GOING;
    case STREAMSWARM__MESH__V1__FRAME__BODY_TEST_ASSIGNMENT:
        if (s->state != ACTIVE) return KEEP_GOING;
        return on_assignment(&s->tls, agent, frame->test_assignment) == 0 ? KEEP_GOING : END_SESSION;
    case STREAMSWARM__MESH__V1__FRAME__BODY_TEST_CANCEL:
        if (s->state != ACTIVE) return KEEP_GOING;
        swarm_scheduler_remove_id(agent, frame->test_cancel->test_id);
        return send_ack(&s->tls, frame->test_cancel->test_id, frame->test_cancel->revision, 1, "") == 0 ? KEEP_GOING
                                                                                                        : END_SESSION;
    case STREAMSWARM__MESH__V1__FRAME__BODY_BATCH_ACK:
        if (frame->batch_ack->batch_id == s->in_flight) {
            if (swarm_spool_acked(&agent->spool, s->in_flight) != 0) {
                fprintf(stderr, "swarm-agent-c: cannot record an ack in the spool %s; stopping the session\n",
                        agent->spool.dir);
                return END_SESSION;
            }
            s->in_flight = 0;
        }
        return KEEP_GOING;
    case STREAMSWARM__MESH__V1__FRAME__BODY_HEARTBEAT_ACK:
        return KEEP_GOING;
    case STREAMSWARM__MESH__V1__FRAME__BODY_GOODBYE:
        return on_goodbye(s, frame->goodbye);
    case STREAMSWARM__MESH__V1__FRAME__BODY_ERROR:
        return on_error(s, frame->error);
    default:
        break;
    }
    fprintf(stderr, "swarm-agent-c: unexpected frame (body %d) from the server; closing the session\n",
            frame->body_case);
    return END_SESSION;
}

/* Reads what the connection has and handles every whole frame; END_SESSION when it must close. */
static handled receive(session *s, swarm_frame_reader *reader) {
    size_t room = 0;
    uint8_t *space = swarm_frame_reader_space(reader, &room);
    ssize_t got = swarm_tls_read(&s->tls, space, room);
    if (got <= 0) {
        fprintf(stderr, "swarm-agent-c: the server closed the connection\n");
        return END_SESSION;
    }
    s->last_heard = swarm_monotonic_ms();
    swarm_frame_reader_commit(reader, (size_t)got);
    const uint8_t *payload = NULL;
    uint32_t length = 0;
    swarm_frame_status status;
    while ((status = swarm_frame_reader_next(reader, &payload, &length)) == SWARM_FRAME_OK) {
        Streamswarm__Mesh__V1__Frame *frame = streamswarm__mesh__v1__frame__unpack(NULL, length, payload);
        if (!frame) {
            fprintf(stderr, "swarm-agent-c: a frame from the server does not decode; closing the session\n");
            return END_SESSION;
        }
        handled outcome = handle(s, frame);
        streamswarm__mesh__v1__frame__free_unpacked(frame, NULL);
        if (outcome == END_SESSION) return END_SESSION;
    }
    if (status != SWARM_FRAME_NEED_MORE) {
        fprintf(stderr, "swarm-agent-c: %s; closing the session\n", swarm_frame_status_text(status));
        return END_SESSION;
    }
    return KEEP_GOING;
}

/* Periodic duties: heartbeats, the liveness limit, the drain deadline. END_SESSION to close. */
static handled tick(session *s, volatile sig_atomic_t *stop) {
    int64_t now = swarm_monotonic_ms();
    if (*stop && s->state != DRAINING) {
        if (s->state != ACTIVE || !s->in_flight) {
            send_goodbye(&s->tls);
            return END_SESSION;
        }
        s->state = DRAINING; /* up to 2 s for the batch in flight, no new ones */
        s->drain_deadline = now + 2000;
    }
    if (s->state == DRAINING && (!s->in_flight || now >= s->drain_deadline)) {
        send_goodbye(&s->tls);
        return END_SESSION;
    }
    if (s->state == AWAITING_WELCOME) return KEEP_GOING;
    if (now - s->last_heard > 3 * (int64_t)s->heartbeat_ms) {
        fprintf(stderr, "swarm-agent-c: nothing from the server for %lld ms (3 heartbeat intervals); closing\n",
                (long long)(now - s->last_heard));
        return END_SESSION;
    }
    if (now >= s->next_heartbeat) {
        if (send_heartbeat(&s->tls, ++s->sequence) != 0) return END_SESSION;
        s->next_heartbeat = now + s->heartbeat_ms;
    }
    return KEEP_GOING;
}

swarm_session_end swarm_session_run(const swarm_agent_config *config, swarm_agent_state *agent,
                                    volatile sig_atomic_t *stop, int64_t *reconnect_after_ms) {
    char error[512];
    session s;
    memset(&s, 0, sizeof s);
    s.agent = agent;
    s.reconnect_after_ms = -1;
    *reconnect_after_ms = -1;
    if (swarm_tls_connect(&s.tls, &config->tls, config->host, config->port, 10000, error, sizeof error) != 0) {
        fprintf(stderr, "swarm-agent-c: %s\n", error);
        return SWARM_SESSION_FAILED;
    }
    swarm_frame_reader reader;
    if (swarm_frame_reader_init(&reader, SWARM_FRAME_DEFAULT_MAX_PAYLOAD) != 0 || send_hello(&s.tls, agent) != 0) {
        swarm_tls_close(&s.tls);
        return SWARM_SESSION_FAILED;
    }
    s.state = AWAITING_WELCOME;
    s.heartbeat_ms = 10000;
    s.max_frame = SWARM_FRAME_DEFAULT_MAX_PAYLOAD;
    s.last_heard = swarm_monotonic_ms();
    s.next_heartbeat = s.last_heard + s.heartbeat_ms; /* Welcome's wait, then the first heartbeat */
    int stopped = 0;
    for (;;) {
        if (tick(&s, stop) == END_SESSION) {
            stopped = *stop;
            break;
        }
        if (send_batch(&s) != 0) break;
        /* One poll for the connection and every probe in flight. */
        struct pollfd fds[1 + SWARM_MAX_TESTS];
        fds[0].fd = s.tls.fd;
        fds[0].events = POLLIN;
        fds[0].revents = 0;
        size_t count = 1;
        int64_t latest = s.state == DRAINING ? s.drain_deadline : s.next_heartbeat;
        if (s.state == AWAITING_WELCOME) latest = s.last_heard + 10000;
        int64_t wake = swarm_scheduler_prepare(agent, fds, &count, 1 + SWARM_MAX_TESTS, latest);
        int64_t wait = swarm_tls_pending(&s.tls) > 0 ? 0 : wake - swarm_monotonic_ms();
        int rc = poll(fds, count, wait < 0 ? 0 : (int)wait);
        if (rc < 0 && errno != EINTR) break;
        if (swarm_scheduler_service(agent, fds, 1, rc > 0 ? count - 1 : 0) != 0) break;
        if (s.state == AWAITING_WELCOME && swarm_monotonic_ms() - s.last_heard > 10000) {
            fprintf(stderr, "swarm-agent-c: no Welcome within 10 s; closing\n");
            break;
        }
        if (swarm_tls_pending(&s.tls) == 0 && (rc <= 0 || fds[0].revents == 0)) continue;
        if (receive(&s, &reader) == END_SESSION) break;
    }
    swarm_session_end end = stopped                 ? SWARM_SESSION_STOPPED
                            : s.state == AWAITING_WELCOME ? SWARM_SESSION_FAILED
                                                          : SWARM_SESSION_ENDED;
    *reconnect_after_ms = s.reconnect_after_ms;
    swarm_frame_reader_free(&reader);
    swarm_tls_close(&s.tls);
    return end;
}
