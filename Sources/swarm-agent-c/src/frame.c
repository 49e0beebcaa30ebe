#include "frame.h"

#include <stdlib.h>
#include <string.h>

void swarm_frame_write_header(uint8_t out[SWARM_FRAME_HEADER_BYTES], uint32_t length) {
    out[0] = 0;
    out[1] = (uint8_t)(length >> 24);
    out[2] = (uint8_t)(length >> 16);
    out[3] = (uint8_t)(length >> 8);
    out[4] = (uint8_t)length;
}

swarm_frame_status swarm_frame_check_header(const uint8_t *bytes, uint32_t max_payload, uint32_t *length) {
    uint32_t value = ((uint32_t)bytes[1] << 24) | ((uint32_t)bytes[2] << 16) | ((uint32_t)bytes[3] << 8) |
                     (uint32_t)bytes[4];
    if (bytes[0] != 0) return SWARM_FRAME_UNKNOWN_FLAGS;
    if (value > max_payload) return SWARM_FRAME_TOO_LARGE;
    *length = value;
    return SWARM_FRAME_OK;
}

int swarm_frame_reader_init(swarm_frame_reader *reader, uint32_t max_payload) {
    reader->capacity = 16384;
    reader->used = 0;
    reader->pending = 0;
    reader->max_payload = max_payload;
    reader->data = malloc(reader->capacity);
    return reader->data ? 0 : -1;
}

void swarm_frame_reader_free(swarm_frame_reader *reader) {
    free(reader->data);
    reader->data = NULL;
    reader->used = reader->capacity = reader->pending = 0;
}

/* Drops the frame returned last, so the next one starts at the front. */
static void compact(swarm_frame_reader *reader) {
    if (reader->pending == 0) return;
    memmove(reader->data, reader->data + reader->pending, reader->used - reader->pending);
    reader->used -= reader->pending;
    reader->pending = 0;
}

uint8_t *swarm_frame_reader_space(swarm_frame_reader *reader, size_t *room) {
    compact(reader);
    /* Grow to hold the frame being received, never past header + limit. */
    size_t wanted = reader->used + 4096;
    if (reader->used >= SWARM_FRAME_HEADER_BYTES) {
        uint32_t length = 0;
        if (swarm_frame_check_header(reader->data, reader->max_payload, &length) == SWARM_FRAME_OK &&
            (size_t)length + SWARM_FRAME_HEADER_BYTES > wanted) {
            wanted = (size_t)length + SWARM_FRAME_HEADER_BYTES;
        }
    }
    size_t ceiling = (size_t)reader->max_payload + SWARM_FRAME_HEADER_BYTES;
    if (wanted > ceiling) wanted = ceiling;
    if (wanted > reader->capacity) {
        uint8_t *grown = realloc(reader->data, wanted);
        if (grown) {
            reader->data = grown;
            reader->capacity = wanted;
        }
    }
    *room = reader->capacity - reader->used;
    return reader->data + reader->used;
}

void swarm_frame_reader_commit(swarm_frame_reader *reader, size_t received) { reader->used += received; }

swarm_frame_status swarm_frame_reader_next(swarm_frame_reader *reader, const uint8_t **payload, uint32_t *length) {
    compact(reader);
    if (reader->used < SWARM_FRAME_HEADER_BYTES) return SWARM_FRAME_NEED_MORE;
    uint32_t size = 0;
    swarm_frame_status status = swarm_frame_check_header(reader->data, reader->max_payload, &size);
    if (status != SWARM_FRAME_OK) return status;
    if (reader->used - SWARM_FRAME_HEADER_BYTES < size) return SWARM_FRAME_NEED_MORE;
    *payload = reader->data + SWARM_FRAME_HEADER_BYTES;
    *length = size;
    reader->pending = (size_t)size + SWARM_FRAME_HEADER_BYTES;
    return SWARM_FRAME_OK;
}

swarm_frame_status swarm_frame_reader_finish(const swarm_frame_reader *reader) {
    return reader->used == reader->pending ? SWARM_FRAME_OK : SWARM_FRAME_TRUNCATED;
}

const char *swarm_frame_status_text(swarm_frame_status status) {
    switch (status) {
    case SWARM_FRAME_OK: return "ok";
    case SWARM_FRAME_NEED_MORE: return "more bytes needed";
    case SWARM_FRAME_UNKNOWN_FLAGS: return "frame flags set that protocol v1 does not define";
    case SWARM_FRAME_TOO_LARGE: return "frame length exceeds the limit";
    case SWARM_FRAME_TRUNCATED: return "the connection closed inside a frame";
    }
    return "unknown frame status";
}
