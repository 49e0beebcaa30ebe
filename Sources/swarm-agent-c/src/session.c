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

typedef enum { AWAITING_WELCOME, ACTIVE } session_state;

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

/* Sends the spool's next batch when none is in flight (one at a time). */
static int send_batch(swarm_tls *tls, swarm_agent_state *agent, uint64_t server_last, uint32_t max_frame,
                      uint64_t *in_flight) {
    if (*in_flight || swarm_spool_depth(&agent->spool) == 0) return 0;
    uint64_t id = 0;
    uint8_t **records = NULL;
    size_t *lengths = NULL, count = 0;
    /* Three quarters of the frame limit the server announced, as the Swift agent does. */
    if (swarm_spool_batch(&agent->spool, server_last, (size_t)max_frame / 4u * 3u, &id, &records, &lengths, &count) !=
        0) {
        return -1;
    }
    int rc = 0;
    if (count > 0) {
        Streamswarm__Mesh__V1__Measurement **measurements = calloc(count, sizeof *measurements);
        size_t decoded = 0;
        for (size_t i = 0; measurements && i < count; i++) {
            measurements[decoded] = streamswarm__mesh__v1__measurement__unpack(NULL, lengths[i], records[i]);
            if (measurements[decoded]) decoded++;
        }
        Streamswarm__Mesh__V1__ResultBatch batch = STREAMSWARM__MESH__V1__RESULT_BATCH__INIT;
        batch.batch_id = id;
        batch.n_measurements = decoded;
        batch.measurements = measurements;
        batch.created_unix_nanos = swarm_realtime_nanos();
        Streamswarm__Mesh__V1__Frame frame = STREAMSWARM__MESH__V1__FRAME__INIT;
        frame.body_case = STREAMSWARM__MESH__V1__FRAME__BODY_RESULT_BATCH;
        frame.result_batch = &batch;
        rc = measurements ? send_frame(tls, &frame) : -1;
        if (rc == 0) *in_flight = id;
        for (size_t i = 0; i < decoded; i++) streamswarm__mesh__v1__measurement__free_unpacked(measurements[i], NULL);
        free(measurements);
    }
    for (size_t i = 0; i < count; i++) free(records[i]);
    free(records);
    free(lengths);
    return rc;
}

typedef enum { KEEP_GOING, END_SESSION } handled;

/* One frame from the server, by the agent rows of the transition table. */
static handled handle(swarm_tls *tls, session_state *state, const Streamswarm__Mesh__V1__Frame *frame,
                      uint32_t *heartbeat_ms, swarm_agent_state *agent, uint64_t *server_last, uint32_t *max_frame,
                      uint64_t *in_flight) {
    switch (frame->body_case) {
    case STREAMSWARM__MESH__V1__FRAME__BODY_WELCOME:
        if (*state != AWAITING_WELCOME) break;
        *state = ACTIVE;
        if (frame->welcome->heartbeat_interval_ms > 0) *heartbeat_ms = frame->welcome->heartbeat_interval_ms;
        *server_last = frame->welcome->last_batch_id;
        if (frame->welcome->max_frame_bytes > 0 && frame->welcome->max_frame_bytes < *max_frame) {
            *max_frame = frame->welcome->max_frame_bytes;
        }
        fprintf(stderr, "swarm-agent-c: connected as %s (session %s, heartbeat every %u ms)\n",
                frame->welcome->agent_name, frame->welcome->session_id, *heartbeat_ms);
        return KEEP_GOING;
    case STREAMSWARM__MESH__V1__FRAME__BODY_TEST_ASSIGNMENT:
        return on_assignment(tls, agent, frame->test_assignment) == 0 ? KEEP_GOING : END_SESSION;
    case STREAMSWARM__MESH__V1__FRAME__BODY_TEST_CANCEL:
        swarm_scheduler_remove_id(agent, frame->test_cancel->test_id);
        return send_ack(tls, frame->test_cancel->test_id, frame->test_cancel->revision, 1, "") == 0 ? KEEP_GOING
                                                                                                  : END_SESSION;
    case STREAMSWARM__MESH__V1__FRAME__BODY_BATCH_ACK:
        if (frame->batch_ack->batch_id == *in_flight) {
            if (swarm_spool_acked(&agent->spool, *in_flight) != 0) {
                fprintf(stderr, "swarm-agent-c: cannot record an ack in the spool %s; stopping the session\n",
                        agent->spool.dir);
                return END_SESSION;
            }
            *in_flight = 0;
        }
        return KEEP_GOING;
    case STREAMSWARM__MESH__V1__FRAME__BODY_HEARTBEAT_ACK:
        return KEEP_GOING;
    case STREAMSWARM__MESH__V1__FRAME__BODY_GOODBYE:
        fprintf(stderr, "swarm-agent-c: the server said goodbye: %s\n", frame->goodbye->message);
        return END_SESSION;
    case STREAMSWARM__MESH__V1__FRAME__BODY_ERROR:
        fprintf(stderr, "swarm-agent-c: the server reported error %d: %s\n", frame->error->code,
                frame->error->message);
        return frame->error->fatal ? END_SESSION : KEEP_GOING;
    default:
        break;
    }
    fprintf(stderr, "swarm-agent-c: unexpected frame (body %d) from the server; closing the session\n",
            frame->body_case);
    return END_SESSION;
}

swarm_session_end swarm_session_run(const swarm_agent_config *config, swarm_agent_state *agent,
                                    volatile sig_atomic_t *stop) {
    char error[512];
    swarm_tls tls;
    if (swarm_tls_connect(&tls, &config->tls, config->host, config->port, 10000, error, sizeof error) != 0) {
        fprintf(stderr, "swarm-agent-c: %s\n", error);
        return SWARM_SESSION_FAILED;
    }
    swarm_frame_reader reader;
    if (swarm_frame_reader_init(&reader, SWARM_FRAME_DEFAULT_MAX_PAYLOAD) != 0 || send_hello(&tls, agent) != 0) {
        swarm_tls_close(&tls);
        return SWARM_SESSION_FAILED;
    }
    session_state state = AWAITING_WELCOME;
    uint32_t heartbeat_ms = 10000;
    uint64_t sequence = 0, server_last = 0, in_flight = 0;
    uint32_t max_frame = SWARM_FRAME_DEFAULT_MAX_PAYLOAD;
    int64_t next_heartbeat = swarm_monotonic_ms() + heartbeat_ms;
    swarm_session_end end = SWARM_SESSION_FAILED;
    for (;;) {
        if (*stop) {
            send_goodbye(&tls);
            end = SWARM_SESSION_STOPPED;
            break;
        }
        if (state == ACTIVE && swarm_monotonic_ms() >= next_heartbeat) {
            if (send_heartbeat(&tls, ++sequence) != 0) break;
            next_heartbeat = swarm_monotonic_ms() + heartbeat_ms;
        }
        if (state == ACTIVE && send_batch(&tls, agent, server_last, max_frame, &in_flight) != 0) break;
        /* One poll for the connection and every probe in flight. */
        struct pollfd fds[1 + SWARM_MAX_TESTS];
        fds[0].fd = tls.fd;
        fds[0].events = POLLIN;
        fds[0].revents = 0;
        size_t count = 1;
        int64_t wake = swarm_scheduler_prepare(agent, fds, &count, 1 + SWARM_MAX_TESTS, next_heartbeat);
        int64_t wait = swarm_tls_pending(&tls) > 0 ? 0 : wake - swarm_monotonic_ms();
        int rc = poll(fds, count, wait < 0 ? 0 : (int)wait);
        if (rc < 0 && errno != EINTR) break;
        if (swarm_scheduler_service(agent, fds, 1, rc > 0 ? count - 1 : 0) != 0) break;
        if (swarm_tls_pending(&tls) == 0 && (rc <= 0 || fds[0].revents == 0)) continue;
        size_t room = 0;
        uint8_t *space = swarm_frame_reader_space(&reader, &room);
        ssize_t got = swarm_tls_read(&tls, space, room);
        if (got <= 0) {
            fprintf(stderr, "swarm-agent-c: the server closed the connection\n");
            break;
        }
        swarm_frame_reader_commit(&reader, (size_t)got);
        const uint8_t *payload = NULL;
        uint32_t length = 0;
        swarm_frame_status status = SWARM_FRAME_NEED_MORE;
        handled outcome = KEEP_GOING;
        while (outcome == KEEP_GOING && (status = swarm_frame_reader_next(&reader, &payload, &length)) == SWARM_FRAME_OK) {
            Streamswarm__Mesh__V1__Frame *frame = streamswarm__mesh__v1__frame__unpack(NULL, length, payload);
            if (!frame) {
                fprintf(stderr, "swarm-agent-c: a frame from the server does not decode; closing the session\n");
                outcome = END_SESSION;
                break;
            }
            outcome = handle(&tls, &state, frame, &heartbeat_ms, agent, &server_last, &max_frame, &in_flight);
            if (state == ACTIVE && sequence == 0) next_heartbeat = swarm_monotonic_ms() + heartbeat_ms;
            streamswarm__mesh__v1__frame__free_unpacked(frame, NULL);
        }
        if (outcome == END_SESSION) break;
        if (status != SWARM_FRAME_OK && status != SWARM_FRAME_NEED_MORE) {
            fprintf(stderr, "swarm-agent-c: %s; closing the session\n", swarm_frame_status_text(status));
            break;
        }
    }
    if (end != SWARM_SESSION_STOPPED) end = state == ACTIVE ? SWARM_SESSION_ENDED : SWARM_SESSION_FAILED;
    swarm_frame_reader_free(&reader);
    swarm_tls_close(&tls);
    return end;
}
