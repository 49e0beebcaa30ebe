#ifndef CSWARM_INFLATE_H
#define CSWARM_INFLATE_H

#include <stddef.h>
#include <stdint.h>

/// A streaming zlib inflater for HTTP bodies (Content-Encoding gzip or deflate). zlib's z_stream is a
/// struct of pointers that Swift cannot own safely, so it stays behind this opaque handle.
typedef struct cswarm_inflater cswarm_inflater;

/// Formats the inflater accepts.
enum {
    /// gzip or zlib, detected from the header (Content-Encoding: gzip, or deflate as RFC 9110 defines it).
    CSWARM_INFLATE_AUTO = 0,
    /// Raw deflate without a zlib header (what some servers send for Content-Encoding: deflate).
    CSWARM_INFLATE_RAW = 1,
};

/// Results of `cswarm_inflater_step`.
enum {
    /// Input consumed or output full; call again with the rest of the input.
    CSWARM_INFLATE_OK = 0,
    /// The compressed stream ended (bytes after it are not consumed).
    CSWARM_INFLATE_END = 1,
    /// The data is not valid for the format; `cswarm_inflater_message` says why.
    CSWARM_INFLATE_ERROR = -1,
};

/// A new inflater for `format`, or NULL when zlib cannot allocate one.
cswarm_inflater *cswarm_inflater_create(int format);

/// Inflates from `input` into `output`. `*consumed` and `*produced` receive the bytes read and
/// written. Returns one of the CSWARM_INFLATE_* results.
int cswarm_inflater_step(cswarm_inflater *inflater, const uint8_t *input, size_t input_length, size_t *consumed,
                         uint8_t *output, size_t output_capacity, size_t *produced);

/// zlib's message for the last error (never NULL).
const char *cswarm_inflater_message(const cswarm_inflater *inflater);

void cswarm_inflater_destroy(cswarm_inflater *inflater);

#endif
