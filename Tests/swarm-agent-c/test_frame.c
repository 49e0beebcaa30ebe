/* Framing: the worked examples of Proto/README.md byte for byte, every chunking of a stream, and
 * hostile headers refused from the header alone. */
#include "frame.h"
#include "streamswarm/mesh/v1/session.pb-c.h"
#include "check.h"

#include <string.h>

static void worked_example_heartbeat(void) {
    /* Frame { heartbeat { sequence: 1 } } is 00 00 00 00 04 1a 02 08 01. */
    Streamswarm__Mesh__V1__Heartbeat heartbeat = STREAMSWARM__MESH__V1__HEARTBEAT__INIT;
    heartbeat.sequence = 1;
    Streamswarm__Mesh__V1__Frame frame = STREAMSWARM__MESH__V1__FRAME__INIT;
    frame.body_case = STREAMSWARM__MESH__V1__FRAME__BODY_HEARTBEAT;
    frame.heartbeat = &heartbeat;
    uint8_t bytes[64];
    size_t size = streamswarm__mesh__v1__frame__pack(&frame, bytes + SWARM_FRAME_HEADER_BYTES);
    swarm_frame_write_header(bytes, (uint32_t)size);
    const uint8_t expected[] = {0x00, 0x00, 0x00, 0x00, 0x04, 0x1a, 0x02, 0x08, 0x01};
    CHECK(size + SWARM_FRAME_HEADER_BYTES == sizeof expected);
    CHECK(memcmp(bytes, expected, sizeof expected) == 0);
}

static void every_chunking(void) {
    /* Two heartbeat frames back to back, fed in every split: both come out, whole, in order. */
    const uint8_t stream[] = {0x00, 0x00, 0x00, 0x00, 0x04, 0x1a, 0x02, 0x08, 0x01,
                              0x00, 0x00, 0x00, 0x00, 0x04, 0x1a, 0x02, 0x08, 0x02};
    for (size_t split = 0; split <= sizeof stream; split++) {
        swarm_frame_reader reader;
        CHECK(swarm_frame_reader_init(&reader, SWARM_FRAME_DEFAULT_MAX_PAYLOAD) == 0);
        size_t fed = 0;
        int frames = 0;
        const size_t parts[2] = {split, sizeof stream - split};
        for (int part = 0; part < 2; part++) {
            size_t room = 0;
            uint8_t *space = swarm_frame_reader_space(&reader, &room);
            CHECK(room >= parts[part]);
            memcpy(space, stream + fed, parts[part]);
            swarm_frame_reader_commit(&reader, parts[part]);
            fed += parts[part];
            const uint8_t *payload = NULL;
            uint32_t length = 0;
            while (swarm_frame_reader_next(&reader, &payload, &length) == SWARM_FRAME_OK) {
                CHECK(length == 4 && payload[3] == (uint8_t)(frames + 1));
                frames++;
            }
        }
        CHECK(frames == 2);
        CHECK(swarm_frame_reader_finish(&reader) == SWARM_FRAME_OK);
        swarm_frame_reader_free(&reader);
    }
}

static void hostile_headers(void) {
    uint32_t length = 0;
    const uint8_t compressed[] = {0x01, 0, 0, 0, 4};
    CHECK(swarm_frame_check_header(compressed, SWARM_FRAME_DEFAULT_MAX_PAYLOAD, &length) == SWARM_FRAME_UNKNOWN_FLAGS);
    const uint8_t unknown[] = {0x80, 0, 0, 0, 4};
    CHECK(swarm_frame_check_header(unknown, SWARM_FRAME_DEFAULT_MAX_PAYLOAD, &length) == SWARM_FRAME_UNKNOWN_FLAGS);
    /* 4 GiB - 1 announced: refused before a byte of payload is buffered or allocated. */
    const uint8_t huge[] = {0x00, 0xff, 0xff, 0xff, 0xff};
    CHECK(swarm_frame_check_header(huge, SWARM_FRAME_DEFAULT_MAX_PAYLOAD, &length) == SWARM_FRAME_TOO_LARGE);
    const uint8_t limit[] = {0x00, 0x00, 0x40, 0x00, 0x00};
    CHECK(swarm_frame_check_header(limit, SWARM_FRAME_DEFAULT_MAX_PAYLOAD, &length) == SWARM_FRAME_OK);
    CHECK(length == SWARM_FRAME_DEFAULT_MAX_PAYLOAD);

    swarm_frame_reader reader;
    CHECK(swarm_frame_reader_init(&reader, 1024) == 0);
    size_t room = 0;
    uint8_t *space = swarm_frame_reader_space(&reader, &room);
    memcpy(space, huge, sizeof huge);
    swarm_frame_reader_commit(&reader, sizeof huge);
    const uint8_t *payload = NULL;
    CHECK(swarm_frame_reader_next(&reader, &payload, &length) == SWARM_FRAME_TOO_LARGE);
    CHECK(reader.capacity <= 16384 + 1024);
    swarm_frame_reader_free(&reader);

    /* The stream ends inside a frame: truncated. */
    CHECK(swarm_frame_reader_init(&reader, 1024) == 0);
    space = swarm_frame_reader_space(&reader, &room);
    const uint8_t partial[] = {0x00, 0x00, 0x00, 0x00, 0x04, 0x1a};
    memcpy(space, partial, sizeof partial);
    swarm_frame_reader_commit(&reader, sizeof partial);
    CHECK(swarm_frame_reader_next(&reader, &payload, &length) == SWARM_FRAME_NEED_MORE);
    CHECK(swarm_frame_reader_finish(&reader) == SWARM_FRAME_TRUNCATED);
    swarm_frame_reader_free(&reader);
}

int main(void) {
    worked_example_heartbeat();
    every_chunking();
    hostile_headers();
    return check_summary("test_frame");
}
