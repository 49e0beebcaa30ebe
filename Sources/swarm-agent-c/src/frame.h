/* Mesh protocol v1 framing (Proto/README.md, "Framing"): 1 flags byte, a 4-byte big-endian
 * payload length, the payload (one serialized streamswarm.mesh.v1.Frame). */
#ifndef SWARM_FRAME_H
#define SWARM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define SWARM_FRAME_HEADER_BYTES 5
#define SWARM_FRAME_DEFAULT_MAX_PAYLOAD (4u * 1024u * 1024u)

/* Why a header or stream was refused; the codes match Proto/README.md's error table. */
typedef enum {
    SWARM_FRAME_OK = 0,
    SWARM_FRAME_NEED_MORE = 1,      /* not an error: fewer bytes than a header or payload */
    SWARM_FRAME_UNKNOWN_FLAGS = 2,  /* any flag bit set (v1 negotiates no compression) */
    SWARM_FRAME_TOO_LARGE = 3,      /* header length above the limit: refused before buffering */
    SWARM_FRAME_TRUNCATED = 4       /* the stream ended inside a frame */
} swarm_frame_status;

/* Writes the 5-byte header for a payload of `length` bytes into `out`. */
void swarm_frame_write_header(uint8_t out[SWARM_FRAME_HEADER_BYTES], uint32_t length);

/* Checks the header at `bytes` (at least 5 of them): sets *length and returns SWARM_FRAME_OK, or
 * says why the frame is refused. */
swarm_frame_status swarm_frame_check_header(const uint8_t *bytes, uint32_t max_payload, uint32_t *length);

/* A receive buffer that yields whole payloads; it grows only to the limit, never past it. */
typedef struct {
    uint8_t *data;
    size_t used;
    size_t capacity;
    size_t pending; /* bytes of the frame returned last, dropped at the next call */
    uint32_t max_payload;
} swarm_frame_reader;

int swarm_frame_reader_init(swarm_frame_reader *reader, uint32_t max_payload);
void swarm_frame_reader_free(swarm_frame_reader *reader);
/* Room to receive into (at least one byte unless the reader is full with a frame to take). */
uint8_t *swarm_frame_reader_space(swarm_frame_reader *reader, size_t *room);
void swarm_frame_reader_commit(swarm_frame_reader *reader, size_t received);
/* The next whole payload: OK with `payload` and `length` pointing into the reader (valid until the next
 * call), NEED_MORE, or an error status (the connection must close). */
swarm_frame_status swarm_frame_reader_next(swarm_frame_reader *reader, const uint8_t **payload, uint32_t *length);
/* At end of stream: OK when no partial frame is left, else TRUNCATED. */
swarm_frame_status swarm_frame_reader_finish(const swarm_frame_reader *reader);

const char *swarm_frame_status_text(swarm_frame_status status);

#endif
