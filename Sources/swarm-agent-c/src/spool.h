/* The C agent's spool: measurements survive restarts until the server acknowledged them.
 *
 * DIR/spool.bin is append-only: records of [u32 big-endian length][serialized Measurement], each
 * append fsync'ed before it counts. DIR/state holds what was acknowledged and the batch in flight
 * (written to a temporary file, fsync'ed, renamed): so a batch is resent after a restart under the
 * same id (the server's dedup is keyed on it), and ids never go backwards. */
#ifndef SWARM_SPOOL_H
#define SWARM_SPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char dir[3072];
    uint64_t acked_offset;   /* bytes of spool.bin the server has acknowledged */
    uint64_t end_offset;     /* bytes of spool.bin written */
    uint64_t next_sequence;  /* for the next measurement */
    uint64_t last_batch_id;  /* the highest batch id used */
    uint64_t batch_id;       /* the batch in flight (0: none) ... */
    uint64_t batch_end;      /* ... and where it ends in spool.bin */
    uint64_t batch_count;    /* ... and how many measurements it carries */
    uint64_t depth;          /* measurements not yet acknowledged */
} swarm_spool;

/* Opens (or creates) the spool in `dir`; -1 with `error` filled when it cannot. */
int swarm_spool_open(swarm_spool *spool, const char *dir, char *error, size_t error_size);
/* Appends one measurement (its sequence already set) durably. */
int swarm_spool_append(swarm_spool *spool, const uint8_t *bytes, size_t length);
/* The batch to send: the one in flight, or a new one of up to `max_bytes` of unacked records
 * numbered above max(last used, `server_last`). Returns 0 with `*records` (malloc'ed, caller frees
 * each and the array) or -1; *count 0 when nothing waits. */
int swarm_spool_batch(swarm_spool *spool, uint64_t server_last, size_t max_bytes, uint64_t *batch_id,
                      uint8_t ***records, size_t **lengths, size_t *count);
/* The server acknowledged `batch_id`. */
int swarm_spool_acked(swarm_spool *spool, uint64_t batch_id);
/* The server holds `batch_id` with other measurements (BATCH_ID_REUSED): the batch in flight takes
 * a new id above max(last used, `server_last`), saved before it is resent. */
int swarm_spool_renumber(swarm_spool *spool, uint64_t batch_id, uint64_t server_last);

/* Measurements written and not yet acknowledged. */
uint64_t swarm_spool_depth(const swarm_spool *spool);

#endif
