// zlib behind an opaque handle: z_stream holds pointers into caller buffers between calls, which
// Swift cannot express safely. The http probe feeds body chunks through it as they arrive.
#include "CSwarmInflate.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct cswarm_inflater {
    z_stream stream;
    int finished;
};

cswarm_inflater *cswarm_inflater_create(int format) {
    cswarm_inflater *inflater = calloc(1, sizeof(*inflater));
    if (inflater == NULL) return NULL;
    // 15 + 32: largest window, gzip or zlib header detected automatically; -15: raw deflate.
    int window_bits = format == CSWARM_INFLATE_RAW ? -15 : 15 + 32;
    if (inflateInit2(&inflater->stream, window_bits) != Z_OK) {
        free(inflater);
        return NULL;
    }
    return inflater;
}

int cswarm_inflater_step(cswarm_inflater *inflater, const uint8_t *input, size_t input_length, size_t *consumed,
                         uint8_t *output, size_t output_capacity, size_t *produced) {
    *consumed = 0;
    *produced = 0;
    if (inflater->finished) return CSWARM_INFLATE_END;
    // zlib counts in uInt; larger chunks are fed over several calls.
    uInt in_length = input_length > UINT32_MAX ? UINT32_MAX : (uInt)input_length;
    uInt out_length = output_capacity > UINT32_MAX ? UINT32_MAX : (uInt)output_capacity;
    inflater->stream.next_in = (Bytef *)input;
    inflater->stream.avail_in = in_length;
    inflater->stream.next_out = output;
    inflater->stream.avail_out = out_length;
    int rc = inflate(&inflater->stream, Z_NO_FLUSH);
    *consumed = in_length - inflater->stream.avail_in;
    *produced = out_length - inflater->stream.avail_out;
    inflater->stream.next_in = NULL;
    inflater->stream.next_out = NULL;
    switch (rc) {
    case Z_STREAM_END:
        inflater->finished = 1;
        return CSWARM_INFLATE_END;
    case Z_OK:
        return CSWARM_INFLATE_OK;
    case Z_BUF_ERROR:
        // No progress possible with this input/output: not an error, the caller supplies more.
        return CSWARM_INFLATE_OK;
    default:
        return CSWARM_INFLATE_ERROR;
    }
}

const char *cswarm_inflater_message(const cswarm_inflater *inflater) {
    return inflater->stream.msg != NULL ? inflater->stream.msg : "invalid compressed data";
}

void cswarm_inflater_destroy(cswarm_inflater *inflater) {
    if (inflater == NULL) return;
    inflateEnd(&inflater->stream);
    free(inflater);
}
