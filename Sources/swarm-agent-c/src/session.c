#include "session.h"

#include "frame.h"
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

static int64_t now_nanos(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static int64_t monotonic_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

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

static int send_hello(swarm_tls *tls) {
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
    heartbeat.sent_unix_nanos = now_nanos();
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

typedef enum { KEEP_GOING, END_SESSION } handled;

/* One frame from the server, by the agent rows of the transition table. */
static handled handle(swarm_tls *tls, session_state *state, const Streamswarm__Mesh__V1__Frame *frame,
                      uint32_t *heartbeat_ms) {
    switch (frame->body_case) {
    case STREAMSWARM__MESH__V1__FRAME__BODY_WELCOME:
        if (*state != AWAITING_WELCOME) break;
        *state = ACTIVE;
        if (frame->welcome->heartbeat_interval_ms > 0) *heartbeat_ms = frame->welcome->heartbeat_interval_ms;
        fprintf(stderr, "swarm-agent-c: connected as %s (session %s, heartbeat every %u ms)\n",
                frame->welcome->agent_name, frame->welcome->session_id, *heartbeat_ms);
        return KEEP_GOING;
    case STREAMSWARM__MESH__V1__FRAME__BODY_TEST_ASSIGNMENT: {
        const Streamswarm__Mesh__V1__TestAssignment *assignment = frame->test_assignment;
        if (assignment->test_id == 0) return KEEP_GOING; /* the empty-snapshot marker */
        /* No probe runs yet in this version: every test is refused, saying so. */
        return send_ack(tls, assignment->test_id, assignment->revision, 0,
                        "not supported by the C agent (this version runs no probes yet)") == 0
                   ? KEEP_GOING
                   : END_SESSION;
    }
    case STREAMSWARM__MESH__V1__FRAME__BODY_TEST_CANCEL:
        return send_ack(tls, frame->test_cancel->test_id, frame->test_cancel->revision, 1, "") == 0 ? KEEP_GOING
                                                                                                  : END_SESSION;
    case STREAMSWARM__MESH__V1__FRAME__BODY_HEARTBEAT_ACK:
    case STREAMSWARM__MESH__V1__FRAME__BODY_BATCH_ACK:
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

swarm_session_end swarm_session_run(const swarm_agent_config *config, volatile sig_atomic_t *stop) {
    char error[512];
    swarm_tls tls;
    if (swarm_tls_connect(&tls, &config->tls, config->host, config->port, 10000, error, sizeof error) != 0) {
        fprintf(stderr, "swarm-agent-c: %s\n", error);
        return SWARM_SESSION_FAILED;
    }
    swarm_frame_reader reader;
    if (swarm_frame_reader_init(&reader, SWARM_FRAME_DEFAULT_MAX_PAYLOAD) != 0 || send_hello(&tls) != 0) {
        swarm_tls_close(&tls);
        return SWARM_SESSION_FAILED;
    }
    session_state state = AWAITING_WELCOME;
    uint32_t heartbeat_ms = 10000;
    uint64_t sequence = 0;
    int64_t next_heartbeat = monotonic_ms() + heartbeat_ms;
    swarm_session_end end = SWARM_SESSION_FAILED;
    for (;;) {
        if (*stop) {
            send_goodbye(&tls);
            end = SWARM_SESSION_STOPPED;
            break;
        }
        if (state == ACTIVE && monotonic_ms() >= next_heartbeat) {
            if (send_heartbeat(&tls, ++sequence) != 0) break;
            next_heartbeat = monotonic_ms() + heartbeat_ms;
        }
        if (swarm_tls_pending(&tls) == 0) {
            int64_t wait = next_heartbeat - monotonic_ms();
            struct pollfd ready = {tls.fd, POLLIN, 0};
            int rc = poll(&ready, 1, wait < 0 ? 0 : (int)wait);
            if (rc < 0 && errno == EINTR) continue;
            if (rc <= 0) continue;
        }
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
            outcome = handle(&tls, &state, frame, &heartbeat_ms);
            if (state == ACTIVE && sequence == 0) next_heartbeat = monotonic_ms() + heartbeat_ms;
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
