/*
 * delayline: a userspace delay line on two TUN devices, because this kernel has no sch_netem.
 *
 * scripts/netlab.sh runs it inside the lab's router namespace R1. Policy routing sends
 * packets that arrive from A into the TUN "forward" device and packets that arrive from R2
 * into the "reverse" device. This program reads each packet, holds it for its delay, and
 * writes it back into the same TUN; the kernel then receives it as incoming on that TUN and
 * forwards it by the main table. R1 therefore forwards every packet twice, so the program
 * raises the IPv4 TTL (with an RFC 1624 incremental checksum update) and the IPv6 hop limit
 * by one before re-injecting: R1 stays exactly one hop, and a packet that arrives at R1 with
 * TTL 1 still gets time-exceeded from R1 on its first forward.
 *
 * Scheduling: each direction has a bounded min-heap of pending packets keyed by release time
 * (CLOCK_MONOTONIC, nanoseconds) and arrival sequence. Without --reorder a packet never
 * leaves before an earlier one (release = max(own time, previous release)); with --reorder
 * each packet is scheduled on its own, so jitter larger than the packet gap reorders. The
 * loop sleeps in ppoll() with a nanosecond timeout to the next release and a 1 ns timer
 * slack. It runs SCHED_FIFO (when allowed) so a busy machine does not delay its wake-ups by
 * milliseconds, and it learns the remaining wake-up latency (an EWMA, typically 50-80 us on a
 * VM) and wakes that much early, so releases land on target on average. Queues are bounded
 * (65536 packets and 64 MiB per direction); packets beyond that are dropped and counted.
 *
 * Signals: SIGTERM/SIGINT stop cleanly (pending packets are dropped and counted); SIGUSR1
 * writes the counters file at once (it is also rewritten every second and at exit).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_PACKET 65536
#define DEFAULT_QUEUE_PACKETS 65536
#define DEFAULT_QUEUE_BYTES (64u * 1024u * 1024u)
#define READ_BATCH 256
#define STATS_INTERVAL_NS 1000000000LL

struct pending {
    int64_t release_ns;
    uint64_t seq;
    uint32_t len;
    uint8_t *data;
};

struct direction {
    const char *name; /* "forward" or "reverse" */
    const char *dev;
    int fd;
    int64_t delay_ns;
    int64_t jitter_ns;
    int64_t last_release_ns; /* FIFO floor when reorder is off */
    struct pending *heap;
    size_t count;
    size_t capacity;
    size_t bytes;
    size_t max_bytes;
    uint64_t next_seq;
    /* counters */
    uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
    uint64_t drop_full, drop_write, read_errors, ttl_raised, hop_limit_raised, reordered;
    uint64_t max_seq_sent; /* highest seq written so far, to count reordering */
    size_t queue_max;
    int64_t error_sum_ns, late_max_ns, early_max_ns; /* release time minus target */
};

static int reorder;
static FILE *log_file;
static const char *stats_path;
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t stats_requested;
static uint64_t rng_state;
static int64_t start_ns;
/*
 * How late ppoll's timer wake-ups are (EWMA). Wake-ups are scheduled this much before a
 * release and packets within this margin of their release are sent, so releases land on
 * target on average instead of always ~tens of microseconds late.
 */
static int64_t wake_margin_ns;
#define MAX_WAKE_MARGIN_NS 300000

static void logmsg(const char *fmt, ...) {
    FILE *out = log_file ? log_file : stderr;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(out, "%s.%03ldZ delayline[%d]: ", stamp, ts.tv_nsec / 1000000, (int)getpid());
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    fflush(out);
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* splitmix64: fast, good enough for jitter, seeded from getrandom(). */
static uint64_t next_random(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [-jitter, +jitter]. */
static int64_t jitter_offset(int64_t jitter_ns) {
    if (jitter_ns <= 0) return 0;
    uint64_t span = (uint64_t)jitter_ns * 2 + 1;
    return (int64_t)(next_random() % span) - jitter_ns;
}

static int earlier(const struct pending *a, const struct pending *b) {
    if (a->release_ns != b->release_ns) return a->release_ns < b->release_ns;
    return a->seq < b->seq;
}

static void heap_push(struct direction *d, struct pending p) {
    size_t i = d->count++;
    d->heap[i] = p;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!earlier(&d->heap[i], &d->heap[parent])) break;
        struct pending tmp = d->heap[i];
        d->heap[i] = d->heap[parent];
        d->heap[parent] = tmp;
        i = parent;
    }
}

static struct pending heap_pop(struct direction *d) {
    struct pending top = d->heap[0];
    d->heap[0] = d->heap[--d->count];
    size_t i = 0;
    for (;;) {
        size_t left = 2 * i + 1, right = left + 1, best = i;
        if (left < d->count && earlier(&d->heap[left], &d->heap[best])) best = left;
        if (right < d->count && earlier(&d->heap[right], &d->heap[best])) best = right;
        if (best == i) break;
        struct pending tmp = d->heap[i];
        d->heap[i] = d->heap[best];
        d->heap[best] = tmp;
        i = best;
    }
    return top;
}

/*
 * Undo the second forward's decrement. IPv4: TTL is the high byte of the 16-bit word at
 * offset 8 (TTL, protocol), so raising TTL by one adds 0x0100 to that word, and RFC 1624
 * eqn. 3 gives the new checksum HC' = ~(~HC + ~m + m'). IPv6: hop limit at offset 7, no
 * header checksum. A TTL already at 255 is left alone (it cannot be a forwarded packet's).
 */
static void raise_hop_count(struct direction *d, uint8_t *pkt, size_t len) {
    if (len < 1) return;
    unsigned version = pkt[0] >> 4;
    if (version == 4 && len >= 20) {
        if (pkt[8] == 255) return;
        uint16_t old_word = (uint16_t)(pkt[8] << 8 | pkt[9]);
        pkt[8] += 1;
        uint16_t new_word = (uint16_t)(pkt[8] << 8 | pkt[9]);
        uint16_t old_sum = (uint16_t)(pkt[10] << 8 | pkt[11]);
        uint32_t sum = (uint16_t)~old_sum;
        sum += (uint16_t)~old_word;
        sum += new_word;
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        uint16_t new_sum = (uint16_t)~sum;
        pkt[10] = (uint8_t)(new_sum >> 8);
        pkt[11] = (uint8_t)(new_sum & 0xff);
        d->ttl_raised++;
    } else if (version == 6 && len >= 40) {
        if (pkt[7] == 255) return;
        pkt[7] += 1;
        d->hop_limit_raised++;
    }
}

static int open_tun(const char *dev) {
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        logmsg("open /dev/net/tun: %s", strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    if (strlen(dev) >= IFNAMSIZ) {
        logmsg("device name too long: %s", dev);
        close(fd);
        return -1;
    }
    strncpy(ifr.ifr_name, dev, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        logmsg("TUNSETIFF %s: %s", dev, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads up to READ_BATCH packets, stamping each with its release time. */
static void read_packets(struct direction *d, uint8_t *buf) {
    for (int n = 0; n < READ_BATCH; n++) {
        ssize_t len = read(d->fd, buf, MAX_PACKET);
        if (len < 0) {
            if (errno == EAGAIN || errno == EINTR) return;
            d->read_errors++;
            logmsg("%s: read %s: %s", d->name, d->dev, strerror(errno));
            return;
        }
        if (len == 0) return;
        int64_t arrival = now_ns();
        d->rx_packets++;
        d->rx_bytes += (uint64_t)len;
        if (d->count >= d->capacity || d->bytes + (size_t)len > d->max_bytes) {
            d->drop_full++;
            continue;
        }
        uint8_t *copy = malloc((size_t)len);
        if (copy == NULL) {
            d->drop_full++;
            continue;
        }
        memcpy(copy, buf, (size_t)len);
        int64_t delay = d->delay_ns + jitter_offset(d->jitter_ns);
        if (delay < 0) delay = 0;
        int64_t release = arrival + delay;
        if (!reorder) {
            /* FIFO: never before an earlier packet. */
            if (release < d->last_release_ns) release = d->last_release_ns;
            d->last_release_ns = release;
        }
        struct pending p = {.release_ns = release, .seq = d->next_seq++, .len = (uint32_t)len, .data = copy};
        heap_push(d, p);
        d->bytes += (size_t)len;
        if (d->count > d->queue_max) d->queue_max = d->count;
    }
}

/* Writes every packet whose release time has come (within the wake margin). */
static void release_due(struct direction *d) {
    while (d->count > 0) {
        int64_t now = now_ns();
        if (d->heap[0].release_ns > now + wake_margin_ns) return;
        struct pending p = heap_pop(d);
        d->bytes -= p.len;
        int64_t error = now - p.release_ns;
        d->error_sum_ns += error;
        if (error > d->late_max_ns) d->late_max_ns = error;
        if (-error > d->early_max_ns) d->early_max_ns = -error;
        if (p.seq < d->max_seq_sent) d->reordered++;
        else d->max_seq_sent = p.seq;
        raise_hop_count(d, p.data, p.len);
        ssize_t written = write(d->fd, p.data, p.len);
        if (written != (ssize_t)p.len) {
            d->drop_write++;
            if (d->drop_write <= 10) {
                logmsg("%s: write %s: %s", d->name, d->dev, written < 0 ? strerror(errno) : "short write");
            }
        } else {
            d->tx_packets++;
            d->tx_bytes += p.len;
        }
        free(p.data);
    }
}

static void write_direction_stats(FILE *f, const struct direction *d) {
    uint64_t released = d->tx_packets + d->drop_write;
    fprintf(f, "%s_dev=%s\n", d->name, d->dev);
    fprintf(f, "%s_delay_ms=%.3f\n", d->name, (double)d->delay_ns / 1e6);
    fprintf(f, "%s_jitter_ms=%.3f\n", d->name, (double)d->jitter_ns / 1e6);
    fprintf(f, "%s_rx_packets=%llu\n", d->name, (unsigned long long)d->rx_packets);
    fprintf(f, "%s_rx_bytes=%llu\n", d->name, (unsigned long long)d->rx_bytes);
    fprintf(f, "%s_tx_packets=%llu\n", d->name, (unsigned long long)d->tx_packets);
    fprintf(f, "%s_tx_bytes=%llu\n", d->name, (unsigned long long)d->tx_bytes);
    fprintf(f, "%s_drop_queue_full=%llu\n", d->name, (unsigned long long)d->drop_full);
    fprintf(f, "%s_drop_write_error=%llu\n", d->name, (unsigned long long)d->drop_write);
    fprintf(f, "%s_read_errors=%llu\n", d->name, (unsigned long long)d->read_errors);
    fprintf(f, "%s_reordered=%llu\n", d->name, (unsigned long long)d->reordered);
    fprintf(f, "%s_ttl_raised=%llu\n", d->name, (unsigned long long)d->ttl_raised);
    fprintf(f, "%s_hop_limit_raised=%llu\n", d->name, (unsigned long long)d->hop_limit_raised);
    fprintf(f, "%s_queue_now=%zu\n", d->name, d->count);
    fprintf(f, "%s_queue_max=%zu\n", d->name, d->queue_max);
    fprintf(f, "%s_release_error_avg_us=%.1f\n", d->name,
            released ? (double)d->error_sum_ns / 1e3 / (double)released : 0.0);
    fprintf(f, "%s_release_late_max_us=%.1f\n", d->name, (double)d->late_max_ns / 1e3);
    fprintf(f, "%s_release_early_max_us=%.1f\n", d->name, (double)d->early_max_ns / 1e3);
}

/* Writes the counters to a temporary file and renames it, so readers never see half a file. */
static void write_stats(const struct direction *dirs) {
    if (stats_path == NULL) return;
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", stats_path) >= (int)sizeof tmp) return;
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        logmsg("cannot write %s: %s", tmp, strerror(errno));
        return;
    }
    fprintf(f, "pid=%d\n", (int)getpid());
    fprintf(f, "uptime_s=%.3f\n", (double)(now_ns() - start_ns) / 1e9);
    fprintf(f, "reorder=%d\n", reorder);
    fprintf(f, "wake_margin_us=%.1f\n", (double)wake_margin_ns / 1e3);
    write_direction_stats(f, &dirs[0]);
    write_direction_stats(f, &dirs[1]);
    if (fclose(f) != 0 || rename(tmp, stats_path) != 0) logmsg("cannot publish %s: %s", stats_path, strerror(errno));
}

/*
 * Closes every descriptor above stderr except `keep`. A daemon must not hold on to descriptors
 * it inherited: a caller that waits for EOF on a pipe (a shell's $(...), Foundation's Process)
 * would otherwise wait until the delay line exits.
 */
static void close_inherited_fds(const int *keep, size_t keep_count) {
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL) return;
    int dir_fd = dirfd(dir);
    int to_close[1024];
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && count < sizeof to_close / sizeof to_close[0]) {
        char *end = NULL;
        long fd = strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0' || fd <= STDERR_FILENO || fd == dir_fd) continue;
        int wanted = 0;
        for (size_t k = 0; k < keep_count; k++) wanted |= keep[k] == fd;
        if (!wanted) to_close[count++] = (int)fd;
    }
    closedir(dir);
    for (size_t k = 0; k < count; k++) close(to_close[k]);
}

static void on_signal(int sig) {
    if (sig == SIGUSR1) stats_requested = 1;
    else stop_requested = 1;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: delayline --forward-dev DEV --reverse-dev DEV [--delay-ms D] [--reverse-delay-ms D2]\n"
            "                 [--jitter-ms J] [--reorder] [--queue-packets N] [--log FILE] [--stats FILE]\n"
            "                 [--no-realtime] [--daemon --pidfile FILE]\n");
}

static int parse_ms(const char *text, int64_t *out_ns) {
    char *end = NULL;
    errno = 0;
    double ms = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(ms) || ms < 0 || ms > 600000) return -1;
    *out_ns = (int64_t)llround(ms * 1e6);
    return 0;
}

int main(int argc, char **argv) {
    struct direction dirs[2];
    memset(dirs, 0, sizeof dirs);
    dirs[0].name = "forward";
    dirs[1].name = "reverse";
    const char *log_path = NULL, *pid_path = NULL;
    int daemonize = 0, reverse_delay_given = 0, realtime = 1;
    size_t queue_packets = DEFAULT_QUEUE_PACKETS;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        int takes_value = 1;
        if (strcmp(arg, "--reorder") == 0) {
            reorder = 1;
            takes_value = 0;
        } else if (strcmp(arg, "--no-realtime") == 0) {
            realtime = 0;
            takes_value = 0;
        } else if (strcmp(arg, "--daemon") == 0) {
            daemonize = 1;
            takes_value = 0;
        } else if (strcmp(arg, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (value == NULL) {
            fprintf(stderr, "delayline: %s needs a value\n", arg);
            return 2;
        } else if (strcmp(arg, "--forward-dev") == 0) {
            dirs[0].dev = value;
        } else if (strcmp(arg, "--reverse-dev") == 0) {
            dirs[1].dev = value;
        } else if (strcmp(arg, "--delay-ms") == 0) {
            if (parse_ms(value, &dirs[0].delay_ns) != 0) goto bad_value;
        } else if (strcmp(arg, "--reverse-delay-ms") == 0) {
            if (parse_ms(value, &dirs[1].delay_ns) != 0) goto bad_value;
            reverse_delay_given = 1;
        } else if (strcmp(arg, "--jitter-ms") == 0) {
            if (parse_ms(value, &dirs[0].jitter_ns) != 0) goto bad_value;
            dirs[1].jitter_ns = dirs[0].jitter_ns;
        } else if (strcmp(arg, "--queue-packets") == 0) {
            char *end = NULL;
            unsigned long n = strtoul(value, &end, 10);
            if (end == value || *end != '\0' || n == 0 || n > 1048576) goto bad_value;
            queue_packets = n;
        } else if (strcmp(arg, "--log") == 0) {
            log_path = value;
        } else if (strcmp(arg, "--stats") == 0) {
            stats_path = value;
        } else if (strcmp(arg, "--pidfile") == 0) {
            pid_path = value;
        } else {
            fprintf(stderr, "delayline: unknown option %s\n", arg);
            usage(stderr);
            return 2;
        }
        if (takes_value) i++;
        continue;
    bad_value:
        fprintf(stderr, "delayline: bad value for %s: %s\n", arg, value);
        return 2;
    }
    if (dirs[0].dev == NULL || dirs[1].dev == NULL) {
        usage(stderr);
        return 2;
    }
    if (!reverse_delay_given) dirs[1].delay_ns = dirs[0].delay_ns;
    if (daemonize && pid_path == NULL) {
        fprintf(stderr, "delayline: --daemon needs --pidfile\n");
        return 2;
    }
    if (log_path != NULL) {
        log_file = fopen(log_path, "a");
        if (log_file == NULL) {
            fprintf(stderr, "delayline: cannot open log %s: %s\n", log_path, strerror(errno));
            return 1;
        }
    }

    if (getrandom(&rng_state, sizeof rng_state, 0) != sizeof rng_state) rng_state = (uint64_t)now_ns();
    /* Default timer slack is 50 us; 1 ns lets ppoll wake close to the release time. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    /*
     * On a busy machine (a compiler on every core) a normal-priority process wakes milliseconds
     * late. SCHED_FIFO lets the delay line preempt batch work at its release time; it sleeps in
     * ppoll between packets, so it cannot starve the machine at lab packet rates.
     */
    const char *sched_note = "normal scheduling";
    if (realtime) {
        struct sched_param sp = {.sched_priority = 50};
        sched_note = sched_setscheduler(0, SCHED_FIFO, &sp) == 0 ? "SCHED_FIFO 50" : "normal scheduling (SCHED_FIFO refused)";
    }

    for (int k = 0; k < 2; k++) {
        dirs[k].capacity = queue_packets;
        dirs[k].max_bytes = DEFAULT_QUEUE_BYTES;
        dirs[k].heap = calloc(queue_packets, sizeof(struct pending));
        if (dirs[k].heap == NULL) {
            logmsg("out of memory for %zu queue slots", queue_packets);
            return 1;
        }
        /* Open before daemonizing so the caller learns about a missing device at once. */
        dirs[k].fd = open_tun(dirs[k].dev);
        if (dirs[k].fd < 0) {
            if (log_file) fprintf(stderr, "delayline: cannot attach %s (see %s)\n", dirs[k].dev, log_path);
            return 1;
        }
    }

    if (daemonize) {
        pid_t child = fork();
        if (child < 0) {
            logmsg("fork: %s", strerror(errno));
            return 1;
        }
        if (child > 0) {
            /* The parent reports success only once the pid file exists. */
            for (int tries = 0; tries < 2000; tries++) {
                struct stat st;
                if (stat(pid_path, &st) == 0) return 0;
                usleep(1000);
            }
            fprintf(stderr, "delayline: child did not write %s\n", pid_path);
            return 1;
        }
        setsid();
        int keep[3] = {dirs[0].fd, dirs[1].fd, log_file ? fileno(log_file) : -1};
        close_inherited_fds(keep, 3);
        int null_fd = open("/dev/null", O_RDWR);
        if (null_fd >= 0) {
            dup2(null_fd, STDIN_FILENO);
            dup2(null_fd, STDOUT_FILENO);
            dup2(null_fd, STDERR_FILENO);
            if (null_fd > STDERR_FILENO) close(null_fd);
        }
    }
    if (pid_path != NULL) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", pid_path);
        FILE *pf = fopen(tmp, "w");
        if (pf == NULL || fprintf(pf, "%d\n", (int)getpid()) < 0 || fclose(pf) != 0 || rename(tmp, pid_path) != 0) {
            logmsg("cannot write pid file %s: %s", pid_path, strerror(errno));
            return 1;
        }
    }

    /* Signals are blocked except while in ppoll, so a flag is never missed between checks. */
    sigset_t blocked, during_poll;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGHUP);
    sigaddset(&blocked, SIGUSR1);
    sigprocmask(SIG_BLOCK, &blocked, &during_poll);
    sigdelset(&during_poll, SIGTERM);
    sigdelset(&during_poll, SIGINT);
    sigdelset(&during_poll, SIGHUP);
    sigdelset(&during_poll, SIGUSR1);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);

    start_ns = now_ns();
    logmsg("started: forward %s delay %.3f ms, reverse %s delay %.3f ms, jitter +/-%.3f ms, %s, queue %zu packets, %s",
           dirs[0].dev, (double)dirs[0].delay_ns / 1e6, dirs[1].dev, (double)dirs[1].delay_ns / 1e6,
           (double)dirs[0].jitter_ns / 1e6, reorder ? "reorder" : "fifo", queue_packets, sched_note);
    write_stats(dirs);

    uint8_t *buf = malloc(MAX_PACKET);
    if (buf == NULL) {
        logmsg("out of memory");
        return 1;
    }
    struct pollfd fds[2] = {{.fd = dirs[0].fd, .events = POLLIN}, {.fd = dirs[1].fd, .events = POLLIN}};
    int64_t next_stats = now_ns() + STATS_INTERVAL_NS;

    while (!stop_requested) {
        release_due(&dirs[0]);
        release_due(&dirs[1]);

        int64_t now = now_ns();
        if (stats_requested || now >= next_stats) {
            stats_requested = 0;
            write_stats(dirs);
            next_stats = now + STATS_INTERVAL_NS;
        }
        int64_t wake = next_stats;
        int packet_wake = 0;
        for (int k = 0; k < 2; k++) {
            if (dirs[k].count > 0 && dirs[k].heap[0].release_ns - wake_margin_ns < wake) {
                wake = dirs[k].heap[0].release_ns - wake_margin_ns;
                packet_wake = 1;
            }
        }
        int64_t wait = wake - now_ns();
        if (wait < 0) wait = 0;
        struct timespec timeout = {.tv_sec = wait / 1000000000LL, .tv_nsec = wait % 1000000000LL};
        int ready = ppoll(fds, 2, &timeout, &during_poll);
        if (ready < 0) {
            if (errno == EINTR) continue;
            logmsg("ppoll: %s", strerror(errno));
            break;
        }
        if (ready == 0 && packet_wake && wait > 0) {
            /* A timer wake-up: learn its latency (EWMA, weight 1/8). */
            int64_t lateness = now_ns() - wake;
            if (lateness < 0) lateness = 0;
            if (lateness > MAX_WAKE_MARGIN_NS) lateness = MAX_WAKE_MARGIN_NS;
            wake_margin_ns += (lateness - wake_margin_ns) / 8;
        }
        for (int k = 0; k < 2; k++) {
            if (fds[k].revents & POLLIN) read_packets(&dirs[k], buf);
            if (fds[k].revents & (POLLERR | POLLHUP | POLLNVAL)) {
                logmsg("%s: %s reported an error; stopping", dirs[k].name, dirs[k].dev);
                stop_requested = 1;
            }
        }
    }

    uint64_t discarded = dirs[0].count + dirs[1].count;
    for (int k = 0; k < 2; k++) {
        while (dirs[k].count > 0) free(heap_pop(&dirs[k]).data);
        close(dirs[k].fd);
    }
    write_stats(dirs);
    logmsg("stopping: forward rx %llu tx %llu, reverse rx %llu tx %llu, %llu pending discarded",
           (unsigned long long)dirs[0].rx_packets, (unsigned long long)dirs[0].tx_packets,
           (unsigned long long)dirs[1].rx_packets, (unsigned long long)dirs[1].tx_packets,
           (unsigned long long)discarded);
    if (pid_path != NULL) unlink(pid_path);
    free(buf);
    return 0;
}
