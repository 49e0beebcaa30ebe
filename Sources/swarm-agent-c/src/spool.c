#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void path_of(const swarm_spool *spool, const char *name, char *out, size_t size) {
    snprintf(out, size, "%s/%s", spool->dir, name);
}

static int save_state(const swarm_spool *spool) {
    char path[3200], temporary[3200];
    path_of(spool, "state", path, sizeof path);
    path_of(spool, "state.tmp", temporary, sizeof temporary);
    FILE *file = fopen(temporary, "w");
    if (!file) return -1;
    fprintf(file, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", spool->acked_offset,
            spool->next_sequence, spool->last_batch_id, spool->batch_id, spool->batch_end);
    if (fflush(file) != 0 || fsync(fileno(file)) != 0) {
        fclose(file);
        return -1;
    }
    if (fclose(file) != 0 || rename(temporary, path) != 0) return -1;
    return 0;
}

/* Reads the record at `offset` (length prefix and body); 0 when a whole record is there. */
static int read_record(FILE *file, uint64_t offset, uint8_t **body, size_t *length) {
    uint8_t prefix[4];
    if (fseek(file, (long)offset, SEEK_SET) != 0 || fread(prefix, 1, 4, file) != 4) return -1;
    *length = ((size_t)prefix[0] << 24) | ((size_t)prefix[1] << 16) | ((size_t)prefix[2] << 8) | prefix[3];
    *body = malloc(*length ? *length : 1);
    if (!*body) return -1;
    if (fread(*body, 1, *length, file) != *length) {
        free(*body);
        return -1;
    }
    return 0;
}

int swarm_spool_open(swarm_spool *spool, const char *dir, char *error, size_t error_size) {
    memset(spool, 0, sizeof *spool);
    snprintf(spool->dir, sizeof spool->dir, "%s", dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(error, error_size, "cannot create the spool directory %s: %s", dir, strerror(errno));
        return -1;
    }
    spool->next_sequence = 1;
    char path[3200];
    path_of(spool, "state", path, sizeof path);
    FILE *state = fopen(path, "r");
    if (state) {
        if (fscanf(state, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64, &spool->acked_offset,
                   &spool->next_sequence, &spool->last_batch_id, &spool->batch_id, &spool->batch_end) != 5) {
            fclose(state);
            snprintf(error, error_size, "the spool state %s is damaged: move the directory aside to start afresh", path);
            return -1;
        }
        fclose(state);
    }
    /* Walk the records: the end is the last whole one (a crash mid-append leaves a torn tail,
     * cut off here), and sequences continue above the highest written. */
    path_of(spool, "spool.bin", path, sizeof path);
    FILE *file = fopen(path, "a+b");
    if (!file) {
        snprintf(error, error_size, "cannot open the spool %s: %s", path, strerror(errno));
        return -1;
    }
    uint64_t offset = 0, records = 0;
    uint8_t *body = NULL;
    size_t length = 0;
    while (read_record(file, offset, &body, &length) == 0) {
        free(body);
        if (offset >= spool->acked_offset) spool->depth++;
        offset += 4 + length;
        records++;
    }
    fclose(file);
    if (truncate(path, (off_t)offset) != 0) {
        snprintf(error, error_size, "cannot cut the torn end off %s: %s", path, strerror(errno));
        return -1;
    }
    spool->end_offset = offset;
    if (spool->acked_offset > offset) spool->acked_offset = offset;
    if (spool->batch_end > offset) spool->batch_id = 0;
    if (spool->next_sequence <= records) spool->next_sequence = records + 1;
    return save_state(spool);
}

int swarm_spool_append(swarm_spool *spool, const uint8_t *bytes, size_t length) {
    char path[3200];
    path_of(spool, "spool.bin", path, sizeof path);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    uint8_t prefix[4] = {(uint8_t)(length >> 24), (uint8_t)(length >> 16), (uint8_t)(length >> 8), (uint8_t)length};
    int failed = write(fd, prefix, 4) != 4 || write(fd, bytes, length) != (ssize_t)length || fsync(fd) != 0;
    close(fd);
    if (failed) return -1;
    spool->end_offset += 4 + length;
    spool->next_sequence++;
    spool->depth++;
    return save_state(spool);
}

int swarm_spool_batch(swarm_spool *spool, uint64_t server_last, size_t max_bytes, uint64_t *batch_id,
                      uint8_t ***records, size_t **lengths, size_t *count) {
    *count = 0;
    *records = NULL;
    *lengths = NULL;
    char path[3200];
    path_of(spool, "spool.bin", path, sizeof path);
    FILE *file = fopen(path, "rb");
    if (!file) return -1;
    size_t capacity = 16, bytes = 0;
    *records = calloc(capacity, sizeof **records);
    *lengths = calloc(capacity, sizeof **lengths);
    if (!*records || !*lengths) {
        fclose(file);
        return -1;
    }
    uint64_t offset = spool->acked_offset;
    uint64_t limit = spool->batch_id ? spool->batch_end : spool->end_offset;
    while (offset < limit) {
        uint8_t *body = NULL;
        size_t length = 0;
        if (read_record(file, offset, &body, &length) != 0) break;
        if (!spool->batch_id && *count > 0 && bytes + length > max_bytes) {
            free(body);
            break;
        }
        if (*count == capacity) {
            capacity *= 2;
            uint8_t **grown = realloc(*records, capacity * sizeof **records);
            size_t *grown_lengths = grown ? realloc(*lengths, capacity * sizeof **lengths) : NULL;
            if (grown) *records = grown;
            if (!grown || !grown_lengths) {
                free(body);
                fclose(file);
                return -1;
            }
            *lengths = grown_lengths;
        }
        (*records)[*count] = body;
        (*lengths)[*count] = length;
        (*count)++;
        bytes += length;
        offset += 4 + length;
    }
    fclose(file);
    if (*count == 0) return 0;
    if (!spool->batch_id) {
        /* A new batch: numbered above every id this agent or the server has seen, and saved
         * before it is sent, so a restart resends it under the same id. */
        uint64_t base = spool->last_batch_id > server_last ? spool->last_batch_id : server_last;
        spool->batch_id = base + 1;
        spool->last_batch_id = spool->batch_id;
        spool->batch_end = offset;
        spool->batch_count = *count;
        if (save_state(spool) != 0) return -1;
    }
    *batch_id = spool->batch_id;
    spool->batch_count = *count;
    return 0;
}

int swarm_spool_acked(swarm_spool *spool, uint64_t batch_id) {
    if (batch_id != spool->batch_id || batch_id == 0) return 0; /* an ack of an older resend */
    spool->acked_offset = spool->batch_end;
    spool->batch_id = 0;
    spool->depth = spool->depth > spool->batch_count ? spool->depth - spool->batch_count : 0;
    if (spool->acked_offset == spool->end_offset) {
        /* Everything acknowledged: start the file afresh (a crash between the two steps leaves an
         * acknowledged offset past the end, which open() clamps). */
        char path[3200];
        path_of(spool, "spool.bin", path, sizeof path);
        if (truncate(path, 0) == 0) spool->acked_offset = spool->end_offset = spool->batch_end = 0;
    }
    return save_state(spool);
}

int swarm_spool_renumber(swarm_spool *spool, uint64_t batch_id, uint64_t server_last) {
    if (batch_id != spool->batch_id || batch_id == 0) return 0;
    uint64_t base = spool->last_batch_id > server_last ? spool->last_batch_id : server_last;
    spool->batch_id = base + 1;
    spool->last_batch_id = spool->batch_id;
    return save_state(spool);
}

uint64_t swarm_spool_depth(const swarm_spool *spool) { return spool->depth; }
