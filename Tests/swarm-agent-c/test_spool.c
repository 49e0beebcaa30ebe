/* The spool: appends survive a reopen; a batch keeps its id across a restart and is numbered above
 * what the server has; an ack frees it; a torn tail (a crash mid-append) is cut, never misread. */
#include "check.h"
#include "spool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void free_batch(uint8_t **records, size_t *lengths, size_t count) {
    for (size_t i = 0; i < count; i++) free(records[i]);
    free(records);
    free(lengths);
}

int main(void) {
    char dir[] = "/tmp/swarm-spool-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char error[512];
    swarm_spool spool;
    CHECK(swarm_spool_open(&spool, dir, error, sizeof error) == 0);
    const uint8_t a[] = {1, 2, 3}, b[] = {4, 5}, c[] = {6};
    CHECK(swarm_spool_append(&spool, a, sizeof a) == 0);
    CHECK(swarm_spool_append(&spool, b, sizeof b) == 0);
    CHECK(swarm_spool_depth(&spool) == 2);

    uint64_t id = 0;
    uint8_t **records = NULL;
    size_t *lengths = NULL, count = 0;
    /* A batch stays within the size it is given (3/4 of the server's frame limit). */
    {
        swarm_spool probe;
        char other[] = "/tmp/swarm-spool-size-XXXXXX";
        CHECK(mkdtemp(other) != NULL);
        CHECK(swarm_spool_open(&probe, other, error, sizeof error) == 0);
        CHECK(swarm_spool_append(&probe, a, sizeof a) == 0 && swarm_spool_append(&probe, b, sizeof b) == 0);
        CHECK(swarm_spool_batch(&probe, 0, 4, &id, &records, &lengths, &count) == 0);
        CHECK(count == 1 && lengths[0] == 3);
        free_batch(records, lengths, count);
        char command[128];
        snprintf(command, sizeof command, "rm -rf '%s'", other);
        CHECK(system(command) == 0);
    }
    CHECK(swarm_spool_batch(&spool, 40, 1 << 20, &id, &records, &lengths, &count) == 0);
    CHECK(count == 2 && id == 41); /* above the server's last batch id */
    CHECK(lengths[0] == 3 && memcmp(records[0], a, 3) == 0 && lengths[1] == 2 && memcmp(records[1], b, 2) == 0);
    free_batch(records, lengths, count);

    /* Restart before the ack: the same batch, the same id, nothing new mixed in. */
    CHECK(swarm_spool_append(&spool, c, sizeof c) == 0);
    CHECK(swarm_spool_open(&spool, dir, error, sizeof error) == 0);
    CHECK(swarm_spool_depth(&spool) == 3);
    CHECK(swarm_spool_batch(&spool, 0, 1 << 20, &id, &records, &lengths, &count) == 0);
    CHECK(count == 2 && id == 41);
    free_batch(records, lengths, count);
    CHECK(swarm_spool_acked(&spool, 7) == 0); /* an ack of another batch changes nothing */
    CHECK(swarm_spool_depth(&spool) == 3);
    CHECK(swarm_spool_acked(&spool, 41) == 0);
    CHECK(swarm_spool_depth(&spool) == 1);

    /* The next batch has the rest, and a higher id even when the server says less. */
    CHECK(swarm_spool_batch(&spool, 3, 1 << 20, &id, &records, &lengths, &count) == 0);
    CHECK(count == 1 && id == 42 && records[0][0] == 6);
    free_batch(records, lengths, count);
    CHECK(swarm_spool_acked(&spool, 42) == 0);
    CHECK(swarm_spool_depth(&spool) == 0);

    /* A torn record at the end (length says 9, 2 bytes there) is cut on open. */
    CHECK(swarm_spool_append(&spool, a, sizeof a) == 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/spool.bin", dir);
    FILE *file = fopen(path, "ab");
    const uint8_t torn[] = {0, 0, 0, 9, 7, 7};
    CHECK(file && fwrite(torn, 1, sizeof torn, file) == sizeof torn);
    if (file) fclose(file);
    CHECK(swarm_spool_open(&spool, dir, error, sizeof error) == 0);
    CHECK(swarm_spool_depth(&spool) == 1);
    CHECK(swarm_spool_batch(&spool, 0, 1 << 20, &id, &records, &lengths, &count) == 0);
    CHECK(count == 1 && id == 43 && lengths[0] == 3);
    free_batch(records, lengths, count);
    CHECK(swarm_spool_append(&spool, b, sizeof b) == 0); /* appends after the cut are whole */
    CHECK(swarm_spool_open(&spool, dir, error, sizeof error) == 0);
    CHECK(swarm_spool_depth(&spool) == 2);

    /* BATCH_ID_REUSED: the batch in flight goes again above the server's id, the same records, and
     * the new id survives a restart; a stale id (not the one in flight) changes nothing. */
    CHECK(swarm_spool_batch(&spool, 0, 1 << 20, &id, &records, &lengths, &count) == 0);
    CHECK(count == 1 && id == 43); /* the batch in flight keeps its records */
    free_batch(records, lengths, count);
    CHECK(swarm_spool_renumber(&spool, 42, 500) == 0 && spool.batch_id == 43);
    CHECK(swarm_spool_renumber(&spool, 43, 500) == 0 && spool.batch_id == 501);
    CHECK(swarm_spool_open(&spool, dir, error, sizeof error) == 0);
    CHECK(swarm_spool_batch(&spool, 0, 1 << 20, &id, &records, &lengths, &count) == 0);
    CHECK(count == 1 && id == 501 && lengths[0] == 3 && swarm_spool_depth(&spool) == 2);
    free_batch(records, lengths, count);
    CHECK(swarm_spool_acked(&spool, 501) == 0 && swarm_spool_depth(&spool) == 1);

    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    CHECK(system(path) == 0);
    return check_summary("test_spool");
}
