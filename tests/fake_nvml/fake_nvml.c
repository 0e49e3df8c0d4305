/*
 * fake_nvml.c - a stand-in for libnvidia-ml.so.1, for gpudock's tests.
 *
 *   cc -shared -fPIC -O1 -o libnvidia-ml.so.1 tests/fake_nvml/fake_nvml.c
 *     -DFAKE_NVML_OMIT_PROCESS_UTILIZATION  build without nvmlDeviceGetProcessUtilization
 *     -DFAKE_NVML_OMIT_SHUTDOWN             build without nvmlShutdown
 *
 * nvml-wrapper 0.13 dlopen()s the library and resolves every symbol
 * independently, so only what gpudock calls is provided; a missing symbol
 * shows up on the Rust side as NvmlError::FailedToLoadSymbol.  Signatures and
 * struct layouts follow nvml-wrapper-sys 0.10 (src/bindings.rs).
 *
 * DATA: a text file named by $FAKE_NVML_CONFIG.  It is re-read at nvmlInit_v2
 * and whenever its stat signature (inode, size, mtime, ctime) or the path in
 * the variable changes; the check runs on every call, so rewrites are seen on
 * the next call.  Write it atomically (temp file + rename) so a half-written
 * file is never parsed.  Variable unset or file missing: a machine with 0 GPUs.
 * Numbers are decimal, or hex with a 0x prefix.
 *
 *   # comment ('#' starting a token), blank lines ignored
 *   init_error 9            nvmlInit_v2 returns this code (9 = DRIVER_NOT_LOADED)
 *   driver 550.54.15        nvmlSystemGetDriverVersion; NVML version is "12.<driver>"
 *   cuda 12040              nvmlSystemGetCudaDriverVersion{,_v2} (12040 = 12.4)
 *   gpu <idx> key=value ... one GPU; idx is 0-based, device count = max idx + 1
 *       name="..." uuid=...  mem_total= mem_used= (bytes)  util_gpu= util_mem= (%)
 *       temp= (C)  power_mw=  power_limit_mw= (enforced and management limit)
 *       sm_clock= mem_clock= (MHz)  fan= (%)  num_fans= (default: 1 if fan is
 *       set, else 0)  mig= (0/1; current mode = pending mode)
 *       health: ecc_vol_corr= ecc_vol_uncorr= ecc_agg_corr= ecc_agg_uncorr=
 *       retired_sbe= retired_dbe= (page counts)  retired_pending= (0/1)
 *       remap_corr= remap_unc= remap_pending= remap_failed= (the last three
 *       default to 0 once remap_corr is given)  throttle= (clock event reason
 *       bits)  throttle_supported= (default 0x1ff once throttle is given)
 *       pcie_gen= pcie_gen_max= pcie_width= pcie_width_max=
 *       sm_clock_max= mem_clock_max= (MHz)
 *       events= (supported event type mask; default 0x1f; 0 = no events)
 *       mig_max= (max MIG devices; default 7 with mig=1, 0 with mig=0)
 *   proc <gpu> pid=N used=BYTES [sm=% mem=%] [sm2=%] [ts_age=S] [gi=N ci=N] [name=...]
 *                                                                    compute process
 *   gproc <gpu> (same keys)                                          graphics process
 *   mig <gpu> <idx> name="..." uuid=MIG-... gi=N ci=N mem_total= mem_used=
 *                           one MIG device of a gpu with mig=1; idx < mig_max
 *   xid <gpu> <code> seq=N  an XID error, delivered once per event set
 *
 * Any GPU value may be `na`; a na or omitted value makes the matching call
 * return NVML_ERROR_NOT_SUPPORTED (so MIG is unsupported unless mig= is given).
 * Process used=na (or omitted) -> usedGpuMemory = NVML_VALUE_NOT_AVAILABLE,
 * i.e. UsedGpuMemory::Unavailable; gi/ci omitted -> 0xFFFFFFFF (no instance).
 * Each proc/gproc line with sm= is one per-process utilization sample stamped
 * "now" minus ts_age seconds (microseconds); sm2= adds a second sample one
 * second older than that.  name= feeds nvmlSystemGetProcessName, which
 * otherwise answers "fakeproc<pid>".  FAKE_NVML_DEBUG=1 prints parse warnings
 * on stderr (off by default so a TUI's screen stays clean).
 */
#define _POSIX_C_SOURCE 200809L /* st_mtim, clock_gettime, nanosleep under -std=c11 too */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#define MAX_GPUS 16
#define MAX_PROCS 256
#define MAX_MIGS 8 /* MIG devices per GPU; real GPUs have at most 7 */
#define MAX_XIDS 256
#define MAX_EVENT_SETS 16
#define MAX_DELIVERED 1024 /* XIDs one event set remembers having delivered */
#define STR_MAX 96 /* NVML_DEVICE_NAME_V2_BUFFER_SIZE == NVML_DEVICE_UUID_V2_BUFFER_SIZE */
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef unsigned int nvmlReturn_t; /* C enum: 0 = success, see nvmlErrorString() */
enum {
    NVML_SUCCESS = 0, NVML_ERROR_UNINITIALIZED = 1, NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3, NVML_ERROR_NOT_FOUND = 6, NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_TIMEOUT = 10, NVML_ERROR_GPU_IS_LOST = 15, NVML_ERROR_MEMORY = 20,
    NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
};
#define VALUE_NOT_AVAILABLE 0xFFFFFFFFFFFFFFFFULL /* NVML_VALUE_NOT_AVAILABLE (-1) as u64 */
#define NO_INSTANCE 0xFFFFFFFFu

#define EVENT_XID 0x8ULL        /* nvmlEventTypeXidCriticalError */
#define EVENTS_DEFAULT 0x1fULL  /* single/double-bit ECC, P-state, XID, clock */
#define THROTTLE_DEFAULT 0x1ffULL /* every nvmlClocksEventReason* bit from 0x1 to 0x100 */
#define MIG_MAX_DEFAULT 7       /* what an A100/H100 in MIG mode reports */
#define WAIT_SLICE_MS 250       /* without inotify, event waits re-check the config this
                                   often */
#define SAMPLE_HOLD_US 100000   /* see nvmlDeviceGetProcessUtilization */

typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct {
    unsigned int version; /* set by the caller, see MEMORY_V2_VERSION */
    unsigned long long total, reserved, free, used;
} nvmlMemory_v2_t;
typedef struct { /* nvmlProcessInfo_v2_t, which the _v3 process calls take */
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_t;
typedef struct {
    unsigned int pid;
    unsigned long long timeStamp;
    unsigned int smUtil, memUtil, encUtil, decUtil;
} nvmlProcessUtilizationSample_t;
typedef struct {
    char busIdLegacy[16];
    unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
    char busId[32];
} nvmlPciInfo_t;

/* A config value; ok == 0 means "na" or not given, given says the key was
 * present at all (so a key with a default can still be forced to na). */
typedef struct { int ok, given; unsigned long long v; } opt_t;

static opt_t some(unsigned long long v) { return (opt_t){1, 1, v}; }

/* Left out -> def; given (even as na) -> as given. */
static opt_t or_default(opt_t o, unsigned long long def) { return o.given ? o : some(def); }

/* Name and UUID; the first member of both device kinds, so one parser serves both. */
struct ident {
    int has_name, has_uuid;
    char name[STR_MAX], uuid[STR_MAX];
};

struct fake_gpu {
    struct ident id;
    opt_t mem_total, mem_used, util_gpu, util_mem, temp, power_mw, power_limit_mw,
        sm_clock, mem_clock, fan, num_fans, mig, mig_max,
        ecc_vol_corr, ecc_vol_uncorr, ecc_agg_corr, ecc_agg_uncorr,
        retired_sbe, retired_dbe, retired_pending,
        remap_corr, remap_unc, remap_pending, remap_failed,
        throttle, throttle_supported, pcie_gen, pcie_gen_max, pcie_width, pcie_width_max,
        sm_clock_max, mem_clock_max, events,
        /* DGX fabric (see the link/topo lines and the fabric section at the end) */
        bus, numa, cpus, pcie_switch, fabric_state, fabric_status;
};

#define MAX_LINKS 18 /* NVML_NVLINK_MAX_LINKS */

/* One NVLink of a GPU; a link without a line answers NOT_SUPPORTED (absent). */
struct fake_link {
    int present;
    int peer_switch;   /* far end is an NVSwitch */
    opt_t peer;        /* far end is this GPU index (when not a switch) */
    opt_t state, version, replay, recovery, crc_flit, crc_data;
};

/* One MIG device (a compute instance) of a GPU in MIG mode. */
struct fake_mig {
    struct ident id;
    int present;
    opt_t gi, ci, mem_total, mem_used;
};

/* Opaque to callers.  A GPU handle points into g_cfg.gpus and a MIG handle
 * into g_cfg.migs; neither array ever moves, so handles stay valid across
 * config reloads, and the address alone tells the two kinds apart. */
typedef struct fake_gpu *nvmlDevice_t;

struct fake_proc {
    unsigned gpu;
    int graphics;
    opt_t pid, used, sm, sm2, mem, gi, ci, ts_age;
    char name[64];
};

struct fake_xid {
    unsigned gpu;
    unsigned long long code;
    opt_t seq;
};

struct config {
    unsigned init_error, ngpus, nprocs, nxids;
    int has_driver;
    char driver[80]; /* NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE */
    opt_t cuda;
    struct fake_gpu gpus[MAX_GPUS];
    struct fake_mig migs[MAX_GPUS][MAX_MIGS];
    struct fake_proc procs[MAX_PROCS];
    struct fake_xid xids[MAX_XIDS];
    struct fake_link links[MAX_GPUS][MAX_LINKS];
    /* topo a b level=N overrides the derived level; 0 = not given, else level + 1 */
    unsigned topo[MAX_GPUS][MAX_GPUS];
};

/* An event set remembers what it has delivered, not the config, so an XID is
 * delivered once per set however often the file is re-read. */
struct fake_event_set {
    int used;
    unsigned long long types[MAX_GPUS]; /* registered event types, by GPU index */
    unsigned ndelivered;
    struct { unsigned gpu; unsigned long long seq; } delivered[MAX_DELIVERED];
};
typedef struct fake_event_set *nvmlEventSet_t;

typedef struct {
    nvmlDevice_t device;
    unsigned long long eventType, eventData;
    unsigned int gpuInstanceId, computeInstanceId; /* not in nvmlEventSetWait's (v1) struct */
} nvmlEventData_t;

/* Cheap insurance that the layouts match what the Rust bindings assume. */
_Static_assert(sizeof(nvmlProcessInfo_t) == 24, "nvmlProcessInfo_v2_t is 24 bytes");
_Static_assert(sizeof(nvmlProcessUtilizationSample_t) == 32, "sample is 32 bytes");
_Static_assert(sizeof(nvmlMemory_v2_t) == 40, "nvmlMemory_v2_t is 40 bytes");
_Static_assert(sizeof(nvmlPciInfo_t) == 68, "nvmlPciInfo_t is 68 bytes");
_Static_assert(sizeof(nvmlEventData_t) == 32, "nvmlEventData_t is 32 bytes");
_Static_assert(offsetof(nvmlEventData_t, gpuInstanceId) == 24, "v1 event data is 24 bytes");

/* NVML_STRUCT_VERSION(Memory, 2): what nvml-wrapper writes into .version */
#define MEMORY_V2_VERSION ((unsigned)(sizeof(nvmlMemory_v2_t) | (2u << 24)))

/* Identity of the config file as last parsed; any difference forces a re-parse.
 * Compared with memcmp: every instance starts memset to 0, so padding matches. */
struct file_sig {
    int exists;
    char path[1024];
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtim, ctim;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct config g_cfg, g_scratch; /* static: too big for a thread's stack */
static struct file_sig g_sig;
static int g_loaded;
static unsigned g_init_count; /* real NVML reference-counts init/shutdown too */
static struct fake_event_set g_sets[MAX_EVENT_SETS];

static void warn(const char *fmt, ...) {
    va_list ap;
    if (!getenv("FAKE_NVML_DEBUG")) return;
    va_start(ap, fmt);
    fputs("fake_nvml: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static unsigned long long clock_us(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000;
}

/* ---------------------------------------------------------------- parsing */

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Cuts the next token off *p in place.  Double quotes group spaces and are
 * dropped, so name="NVIDIA H100" is one token.  NULL at end of line/comment. */
static char *next_token(char **p) {
    char *s = *p, *tok, *out;
    int quoted = 0;
    while (is_space(*s)) s++;
    if (*s == '\0' || *s == '#') return NULL;
    for (tok = out = s; *s;) {
        char c = *s++;
        if (c == '"') quoted = !quoted;
        else if (!quoted && is_space(c)) break;
        else *out++ = c;
    }
    *out = '\0'; /* out never passes s, so this cannot clobber unread text */
    *p = s;
    return tok;
}

/* Decimal, or hex after 0x (bit masks such as throttle= read better in hex). */
static opt_t parse_opt(const char *key, const char *v) {
    opt_t o = {0, 1, 0};
    const char *digits;
    char *end;
    int base = 10;
    if (!v) return (opt_t){0, 0, 0};
    if (strcmp(v, "na") == 0) return o;
    digits = v;
    if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
        digits = v + 2;
        base = 16;
    }
    errno = 0;
    o.v = strtoull(digits, &end, base);
    if (*digits == '\0' || *digits == '-' || *end != '\0' || errno) {
        warn("bad number for %s: '%s' (treated as na)", key, v);
        return (opt_t){0, 1, 0};
    }
    o.ok = 1;
    return o;
}

static void copy_bounded(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Numeric keys of each record type, located by offset so one loop parses all. */
struct field { const char *key; size_t off; };
#define GPU_FIELD(f) {#f, offsetof(struct fake_gpu, f)}
static const struct field gpu_fields[] = {
    GPU_FIELD(mem_total), GPU_FIELD(mem_used), GPU_FIELD(util_gpu), GPU_FIELD(util_mem),
    GPU_FIELD(temp), GPU_FIELD(power_mw), GPU_FIELD(power_limit_mw), GPU_FIELD(sm_clock),
    GPU_FIELD(mem_clock), GPU_FIELD(fan), GPU_FIELD(num_fans), GPU_FIELD(mig),
    GPU_FIELD(mig_max), GPU_FIELD(ecc_vol_corr), GPU_FIELD(ecc_vol_uncorr),
    GPU_FIELD(ecc_agg_corr), GPU_FIELD(ecc_agg_uncorr), GPU_FIELD(retired_sbe),
    GPU_FIELD(retired_dbe), GPU_FIELD(retired_pending), GPU_FIELD(remap_corr),
    GPU_FIELD(remap_unc), GPU_FIELD(remap_pending), GPU_FIELD(remap_failed),
    GPU_FIELD(throttle), GPU_FIELD(throttle_supported), GPU_FIELD(pcie_gen),
    GPU_FIELD(pcie_gen_max), GPU_FIELD(pcie_width), GPU_FIELD(pcie_width_max),
    GPU_FIELD(sm_clock_max), GPU_FIELD(mem_clock_max), GPU_FIELD(events),
    GPU_FIELD(bus), GPU_FIELD(numa), GPU_FIELD(cpus), GPU_FIELD(pcie_switch),
    GPU_FIELD(fabric_state), GPU_FIELD(fabric_status),
};
#define LINK_FIELD(f) {#f, offsetof(struct fake_link, f)}
static const struct field link_fields[] = {
    LINK_FIELD(state), LINK_FIELD(version), LINK_FIELD(replay),
    LINK_FIELD(recovery), LINK_FIELD(crc_flit), LINK_FIELD(crc_data),
};
static const struct field topo_fields[] = { {"level", 0} };
#define PROC_FIELD(f) {#f, offsetof(struct fake_proc, f)}
static const struct field proc_fields[] = {
    PROC_FIELD(pid), PROC_FIELD(used), PROC_FIELD(sm), PROC_FIELD(sm2),
    PROC_FIELD(mem), PROC_FIELD(gi),   PROC_FIELD(ci), PROC_FIELD(ts_age),
};
#define MIG_FIELD(f) {#f, offsetof(struct fake_mig, f)}
static const struct field mig_fields[] = {
    MIG_FIELD(gi), MIG_FIELD(ci), MIG_FIELD(mem_total), MIG_FIELD(mem_used),
};
static const struct field xid_fields[] = { {"seq", offsetof(struct fake_xid, seq)} };

/* Cuts a leading number below limit off *rest (a GPU or MIG index, an XID code). */
static int parse_number(char **rest, const char *what, unsigned long long limit,
                        unsigned long long *out) {
    char *tok = next_token(rest);
    opt_t n = parse_opt(what, tok);
    if (!n.ok || n.v >= limit) {
        warn("bad or out-of-range %s '%s'", what, tok ? tok : "");
        return 0;
    }
    *out = n.v;
    return 1;
}

static int parse_gpu_index(char **rest, unsigned *gpu) {
    unsigned long long v;
    if (!parse_number(rest, "GPU index", MAX_GPUS, &v)) return 0;
    *gpu = (unsigned)v;
    return 1;
}

/* Parses "key=value ..." into rec.  String keys are handled by str_field()
 * (may be NULL), which returns 0 for keys it does not know. */
static void parse_keys(char *rest, void *rec, const struct field *fields, size_t nfields,
                       int (*str_field)(void *, const char *, const char *)) {
    char *tok;
    while ((tok = next_token(&rest))) {
        char *val = strchr(tok, '=');
        size_t i;
        if (!val) { warn("expected key=value, got '%s'", tok); continue; }
        *val++ = '\0';
        if (str_field && str_field(rec, tok, val)) continue;
        for (i = 0; i < nfields && strcmp(tok, fields[i].key) != 0; i++) {}
        if (i < nfields) *(opt_t *)((char *)rec + fields[i].off) = parse_opt(tok, val);
        else warn("unknown key '%s'", tok);
    }
}

/* name= and uuid= of a gpu or mig line; rec starts with a struct ident. */
static int ident_str_field(void *rec, const char *key, const char *val) {
    struct ident *id = rec;
    int is_name = strcmp(key, "name") == 0, ok = strcmp(val, "na") != 0;
    if (!is_name && strcmp(key, "uuid") != 0) return 0;
    *(is_name ? &id->has_name : &id->has_uuid) = ok;
    copy_bounded(is_name ? id->name : id->uuid, STR_MAX, ok ? val : "");
    return 1;
}

static int proc_str_field(void *rec, const char *key, const char *val) {
    struct fake_proc *p = rec;
    if (strcmp(key, "name") != 0) return 0;
    copy_bounded(p->name, sizeof p->name, val);
    return 1;
}

/* peer=switch or peer=<GPU index> of a link line. */
static int link_str_field(void *rec, const char *key, const char *val) {
    struct fake_link *l = rec;
    if (strcmp(key, "peer") != 0) return 0;
    l->peer_switch = strcmp(val, "switch") == 0;
    l->peer = l->peer_switch ? (opt_t){0, 1, 0} : parse_opt(key, val);
    return 1;
}

static void parse_file(FILE *f, struct config *c) {
    char line[4096];
    struct fake_gpu g;
    struct fake_proc pr;
    struct fake_mig m;
    struct fake_xid x;
    unsigned idx;
    unsigned long long n;
    while (fgets(line, sizeof line, f)) {
        char *rest = line, *kw = next_token(&rest), *arg;
        if (!kw) continue;
        if (strcmp(kw, "gpu") == 0) {
            memset(&g, 0, sizeof g);
            if (!parse_gpu_index(&rest, &idx)) continue;
            parse_keys(rest, &g, gpu_fields, COUNT(gpu_fields), ident_str_field);
            /* A card with a fan reading has at least one fan; passively cooled
             * cards (fan=na) report zero fans, as real datacenter GPUs do. */
            g.num_fans = or_default(g.num_fans, g.fan.ok ? 1 : 0);
            c->gpus[idx] = g;
            if (idx >= c->ngpus) c->ngpus = idx + 1;
        } else if (strcmp(kw, "proc") == 0 || strcmp(kw, "gproc") == 0) {
            memset(&pr, 0, sizeof pr);
            pr.graphics = kw[0] == 'g';
            if (!parse_gpu_index(&rest, &pr.gpu)) continue;
            parse_keys(rest, &pr, proc_fields, COUNT(proc_fields), proc_str_field);
            if (!pr.pid.ok) warn("process line without pid= ignored");
            else if (c->nprocs >= MAX_PROCS) warn("over %d processes", MAX_PROCS);
            else c->procs[c->nprocs++] = pr;
        } else if (strcmp(kw, "mig") == 0) {
            memset(&m, 0, sizeof m);
            if (!parse_gpu_index(&rest, &idx) || !parse_number(&rest, "MIG index", MAX_MIGS, &n))
                continue;
            parse_keys(rest, &m, mig_fields, COUNT(mig_fields), ident_str_field);
            m.present = 1;
            c->migs[idx][n] = m;
        } else if (strcmp(kw, "xid") == 0) {
            memset(&x, 0, sizeof x);
            if (!parse_gpu_index(&rest, &x.gpu)
                || !parse_number(&rest, "XID code", ULLONG_MAX, &x.code))
                continue;
            parse_keys(rest, &x, xid_fields, COUNT(xid_fields), NULL);
            /* seq is the event's identity; without it "deliver once" means nothing. */
            if (!x.seq.ok) warn("xid line without seq= ignored");
            else if (c->nxids >= MAX_XIDS) warn("over %d xid lines", MAX_XIDS);
            else c->xids[c->nxids++] = x;
        } else if (strcmp(kw, "link") == 0) {
            struct fake_link l;
            memset(&l, 0, sizeof l);
            if (!parse_gpu_index(&rest, &idx) || !parse_number(&rest, "link", MAX_LINKS, &n))
                continue;
            parse_keys(rest, &l, link_fields, COUNT(link_fields), link_str_field);
            l.present = 1;
            c->links[idx][n] = l;
        } else if (strcmp(kw, "topo") == 0) {
            opt_t level = {0, 0, 0};
            if (!parse_gpu_index(&rest, &idx) || !parse_number(&rest, "GPU index", MAX_GPUS, &n))
                continue;
            parse_keys(rest, &level, topo_fields, COUNT(topo_fields), NULL);
            if (!level.ok) { warn("topo line without level= ignored"); continue; }
            c->topo[idx][n] = c->topo[n][idx] = (unsigned)level.v + 1;
        } else if (strcmp(kw, "driver") == 0) {
            arg = next_token(&rest);
            c->has_driver = arg && strcmp(arg, "na") != 0;
            copy_bounded(c->driver, sizeof c->driver, c->has_driver ? arg : "");
        } else if (strcmp(kw, "cuda") == 0) {
            c->cuda = parse_opt(kw, next_token(&rest));
        } else if (strcmp(kw, "init_error") == 0) {
            c->init_error = (unsigned)parse_opt(kw, next_token(&rest)).v;
        } else {
            warn("unknown line '%s'", kw);
        }
    }
}

/* Caller holds g_lock.  One stat() per API call is cheap next to what a
 * dashboard does per refresh, and makes rewrites visible immediately.  If the
 * file changes between stat() and the read, the next call sees a new
 * signature and parses again, so a race only costs one stale answer. */
static void reload_if_changed(int force) {
    const char *path = getenv("FAKE_NVML_CONFIG");
    struct file_sig sig;
    struct stat st;
    FILE *f;
    /* FAKE_NVML_RECHECK_MS (benchmarks only; 0, the default, checks every call): look at the
     * file at most this often. A real driver answers from memory; a benchmark whose config
     * never changes should not charge the measured tool a stat() per call. */
    static long recheck_ms = -1;
    static unsigned long long checked_us;
    if (recheck_ms < 0) {
        const char *r = getenv("FAKE_NVML_RECHECK_MS");
        recheck_ms = r && *r ? strtol(r, NULL, 10) : 0;
        if (recheck_ms < 0) recheck_ms = 0;
    }
    if (!force && g_loaded && recheck_ms > 0) {
        unsigned long long now = clock_us(CLOCK_MONOTONIC_COARSE);
        if (now - checked_us < (unsigned long long)recheck_ms * 1000ULL) return;
        checked_us = now;
    }
    memset(&sig, 0, sizeof sig);
    if (path && *path) {
        copy_bounded(sig.path, sizeof sig.path, path);
        if (stat(path, &st) == 0) {
            sig.exists = 1;
            sig.dev = st.st_dev;
            sig.ino = st.st_ino;
            sig.size = st.st_size;
            sig.mtim = st.st_mtim;
            sig.ctim = st.st_ctim;
        }
    }
    if (!force && g_loaded && memcmp(&sig, &g_sig, sizeof sig) == 0) return;
    /* Parse aside, then publish in one copy; g_cfg is never half-updated. */
    memset(&g_scratch, 0, sizeof g_scratch);
    if (sig.exists) {
        if ((f = fopen(path, "r"))) {
            parse_file(f, &g_scratch);
            fclose(f);
        } else {
            warn("cannot open %s", path);
        }
    }
    memcpy(&g_cfg, &g_scratch, sizeof g_cfg);
    memcpy(&g_sig, &sig, sizeof sig);
    g_loaded = 1;
}

/* ------------------------------------------------------------ API helpers */

/* Entry points (bar nvmlErrorString) bracket their work with enter*() and
 * leave(): take the lock, require init, refresh the config.  enter*() always
 * leaves the lock held, so every path must end in leave(). */
static nvmlReturn_t enter(void) {
    pthread_mutex_lock(&g_lock);
    if (g_init_count == 0) return NVML_ERROR_UNINITIALIZED;
    reload_if_changed(0);
    return NVML_SUCCESS;
}

/* Whether p is the address of an element of the array at base. */
static int points_into(const void *p, const void *base, size_t size, size_t elem) {
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;
    return a >= b && a < b + size && (a - b) % elem == 0;
}

static unsigned gpu_index(nvmlDevice_t dev) { return (unsigned)(dev - g_cfg.gpus); }

static unsigned mig_parent(const struct fake_mig *m) {
    return (unsigned)(((uintptr_t)m - (uintptr_t)g_cfg.migs) / sizeof g_cfg.migs[0]);
}

static int mig_enabled(const struct fake_gpu *g) { return g->mig.ok && g->mig.v == 1; }

/* Checks a GPU or MIG handle.  *mig is the MIG device, or NULL for a GPU. */
static nvmlReturn_t enter_any(nvmlDevice_t dev, struct fake_mig **mig) {
    nvmlReturn_t rc = enter();
    *mig = NULL;
    if (rc) return rc;
    if (points_into(dev, g_cfg.gpus, sizeof g_cfg.gpus, sizeof g_cfg.gpus[0])) {
        /* Handle issued before the config shrank: the GPU "fell off the bus". */
        return gpu_index(dev) < g_cfg.ngpus ? NVML_SUCCESS : NVML_ERROR_GPU_IS_LOST;
    }
    if (points_into(dev, g_cfg.migs, sizeof g_cfg.migs, sizeof g_cfg.migs[0][0])) {
        struct fake_mig *m = (struct fake_mig *)(void *)dev;
        unsigned parent = mig_parent(m);
        if (parent >= g_cfg.ngpus) return NVML_ERROR_GPU_IS_LOST;
        /* The instance was destroyed (line gone) or MIG mode turned off: NVML
         * says such a handle "would remain invalid" until fetched again. */
        if (!m->present || !mig_enabled(&g_cfg.gpus[parent])) return NVML_ERROR_INVALID_ARGUMENT;
        *mig = m;
        return NVML_SUCCESS;
    }
    return NVML_ERROR_INVALID_ARGUMENT;
}

/* For calls only a full GPU answers: a MIG handle gets NOT_SUPPORTED, as
 * temperature, power and the like are per GPU, not per instance. */
static nvmlReturn_t enter_device(nvmlDevice_t dev) {
    struct fake_mig *m;
    nvmlReturn_t rc = enter_any(dev, &m);
    return !rc && m ? NVML_ERROR_NOT_SUPPORTED : rc;
}

static nvmlReturn_t leave(nvmlReturn_t rc) {
    pthread_mutex_unlock(&g_lock);
    return rc;
}

static nvmlReturn_t put_u32(opt_t o, unsigned *out) {
    if (!out) return NVML_ERROR_INVALID_ARGUMENT;
    if (!o.ok) return NVML_ERROR_NOT_SUPPORTED;
    *out = (unsigned)o.v;
    return NVML_SUCCESS;
}

static nvmlReturn_t put_u64(opt_t o, unsigned long long *out) {
    if (!out) return NVML_ERROR_INVALID_ARGUMENT;
    if (!o.ok) return NVML_ERROR_NOT_SUPPORTED;
    *out = o.v;
    return NVML_SUCCESS;
}

/* Like real NVML: a too-small buffer is INSUFFICIENT_SIZE, not a truncation. */
static nvmlReturn_t put_str(int ok, const char *src, char *dst, unsigned len) {
    if (!dst) return NVML_ERROR_INVALID_ARGUMENT;
    if (!ok) return NVML_ERROR_NOT_SUPPORTED;
    if (strlen(src) + 1 > len) return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(dst, src, strlen(src) + 1);
    return NVML_SUCCESS;
}

static opt_t gpu_opt(nvmlDevice_t dev, size_t off) { return *(opt_t *)((char *)dev + off); }

static nvmlReturn_t device_u32(nvmlDevice_t dev, size_t off, unsigned *out) {
    nvmlReturn_t rc = enter_device(dev);
    if (!rc) rc = put_u32(gpu_opt(dev, off), out);
    return leave(rc);
}

static nvmlReturn_t device_u64(nvmlDevice_t dev, size_t off, unsigned long long *out) {
    nvmlReturn_t rc = enter_device(dev);
    if (!rc) rc = put_u64(gpu_opt(dev, off), out);
    return leave(rc);
}

/* Answers a call whose argument selects nothing we model. */
static nvmlReturn_t device_error(nvmlDevice_t dev, nvmlReturn_t err) {
    nvmlReturn_t rc = enter_device(dev);
    return leave(rc ? rc : err);
}

/* ---------------------------------------------------------- system calls */

nvmlReturn_t nvmlInit_v2(void) {
    pthread_mutex_lock(&g_lock);
    reload_if_changed(1);
    if (g_cfg.init_error) return leave(g_cfg.init_error);
    g_init_count++;
    return leave(NVML_SUCCESS);
}

#ifndef FAKE_NVML_OMIT_SHUTDOWN
nvmlReturn_t nvmlShutdown(void) {
    pthread_mutex_lock(&g_lock);
    if (g_init_count == 0) return leave(NVML_ERROR_UNINITIALIZED);
    /* The last shutdown tears down what NVML owns, event sets included; a
     * wait in progress on another thread then ends with UNINITIALIZED. */
    if (--g_init_count == 0) memset(g_sets, 0, sizeof g_sets);
    return leave(NVML_SUCCESS);
}
#endif

const char *nvmlErrorString(nvmlReturn_t rc) {
    static const char *const msgs[] = {
        "Success", "Uninitialized", "Invalid Argument", "Not Supported",
        "Insufficient Permissions", "Already Initialized", "Not Found", "Insufficient Size",
        "Insufficient External Power", "Driver Not Loaded", "Timeout",
        "Interrupt request issue", "NVML Shared Library Not Found", "Function Not Found",
        "Corrupted infoROM", "GPU is lost", "GPU requires restart",
        "The operating system has blocked the request",
        "RM has detected an NVML/RM version mismatch", "In use by another client",
        "Insufficient Memory", "No data", "The requested vgpu operation is not available",
        "Insufficient resources", "Requested frequency not supported",
        "Argument version mismatch", "Deprecated", "Not ready", "GPU not found",
        "Invalid state", "Reset type not supported",
    };
    return rc < COUNT(msgs) ? msgs[rc] : "Unknown Error";
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned length) {
    nvmlReturn_t rc = enter();
    if (!rc) rc = put_str(g_cfg.has_driver, g_cfg.driver, version, length);
    return leave(rc);
}

nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned length) {
    char buf[100];
    nvmlReturn_t rc = enter();
    /* Real NVML reports "<cuda major>.<driver>", e.g. 12.550.54.15. */
    snprintf(buf, sizeof buf, "12.%s", g_cfg.driver);
    if (!rc) rc = put_str(g_cfg.has_driver, buf, version, length);
    return leave(rc);
}

nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *cudaDriverVersion) {
    nvmlReturn_t rc = enter();
    if (!rc) rc = put_u32(g_cfg.cuda, (unsigned *)cudaDriverVersion);
    return leave(rc);
}

nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *cudaDriverVersion) {
    return nvmlSystemGetCudaDriverVersion(cudaDriverVersion);
}

nvmlReturn_t nvmlSystemGetProcessName(unsigned pid, char *name, unsigned length) {
    char buf[64];
    unsigned i;
    nvmlReturn_t rc = enter();
    if (!rc && (!name || length == 0)) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (!rc) {
        snprintf(buf, sizeof buf, "fakeproc%u", pid);
        for (i = 0; i < g_cfg.nprocs; i++)
            if (g_cfg.procs[i].pid.v == pid && g_cfg.procs[i].name[0])
                copy_bounded(buf, sizeof buf, g_cfg.procs[i].name);
        copy_bounded(name, length, buf); /* NVML crops to the caller's length */
    }
    return leave(rc);
}

/* ---------------------------------------------------------- device calls */

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned *deviceCount) {
    nvmlReturn_t rc = enter();
    if (!rc) rc = put_u32(some(g_cfg.ngpus), deviceCount);
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned index, nvmlDevice_t *device) {
    nvmlReturn_t rc = enter();
    if (!rc && (!device || index >= g_cfg.ngpus)) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (!rc) *device = &g_cfg.gpus[index];
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t dev, unsigned *index) {
    nvmlReturn_t rc = enter_device(dev);
    if (!rc) rc = put_u32(some(gpu_index(dev)), index);
    return leave(rc);
}

/* Name and UUID: a MIG device answers from its own mig line. */
static nvmlReturn_t device_ident(nvmlDevice_t dev, int uuid, char *out, unsigned length) {
    struct fake_mig *m;
    const struct ident *id;
    nvmlReturn_t rc = enter_any(dev, &m);
    if (rc) return leave(rc);
    id = m ? &m->id : &dev->id;
    return leave(uuid ? put_str(id->has_uuid, id->uuid, out, length)
                      : put_str(id->has_name, id->name, out, length));
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t dev, char *name, unsigned length) {
    return device_ident(dev, 0, name, length);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t dev, char *uuid, unsigned length) {
    return device_ident(dev, 1, uuid, length);
}

/* Both memory calls, GPU or MIG device: needs mem_total and mem_used;
 * reserved is always 0.  Caller holds the lock via enter_any(). */
static nvmlReturn_t memory_values(nvmlDevice_t dev, struct fake_mig *m, unsigned long long *total,
                                  unsigned long long *freemem, unsigned long long *used) {
    opt_t t = m ? m->mem_total : dev->mem_total, u = m ? m->mem_used : dev->mem_used;
    if (!t.ok || !u.ok) return NVML_ERROR_NOT_SUPPORTED;
    *total = t.v;
    *used = u.v;
    *freemem = *total > *used ? *total - *used : 0;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t dev, nvmlMemory_t *mem) {
    struct fake_mig *m;
    nvmlReturn_t rc = enter_any(dev, &m);
    if (!rc && !mem) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (!rc) rc = memory_values(dev, m, &mem->total, &mem->free, &mem->used);
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t dev, nvmlMemory_v2_t *mem) {
    struct fake_mig *m;
    nvmlReturn_t rc = enter_any(dev, &m);
    if (!rc && !mem) rc = NVML_ERROR_INVALID_ARGUMENT;
    /* Real NVML refuses a struct version it does not know. */
    if (!rc && mem->version != MEMORY_V2_VERSION) rc = NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    if (!rc) rc = memory_values(dev, m, &mem->total, &mem->free, &mem->used);
    if (!rc) mem->reserved = 0;
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t dev, nvmlUtilization_t *util) {
    nvmlReturn_t rc = enter_device(dev);
    if (!rc && !util) rc = NVML_ERROR_INVALID_ARGUMENT;
    /* A GPU in MIG mode has no whole-GPU utilization (real drivers say so). */
    if (!rc && (!dev->util_gpu.ok || !dev->util_mem.ok || mig_enabled(dev)))
        rc = NVML_ERROR_NOT_SUPPORTED;
    if (!rc) *util = (nvmlUtilization_t){(unsigned)dev->util_gpu.v, (unsigned)dev->util_mem.v};
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t dev, unsigned sensorType, unsigned *temp) {
    if (sensorType != 0) /* NVML_TEMPERATURE_GPU is the only sensor NVML has */
        return device_error(dev, NVML_ERROR_INVALID_ARGUMENT);
    return device_u32(dev, offsetof(struct fake_gpu, temp), temp);
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t dev, unsigned *power) {
    return device_u32(dev, offsetof(struct fake_gpu, power_mw), power);
}

nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t dev, unsigned *limit) {
    return device_u32(dev, offsetof(struct fake_gpu, power_limit_mw), limit);
}

nvmlReturn_t nvmlDeviceGetPowerManagementLimit(nvmlDevice_t dev, unsigned *limit) {
    return device_u32(dev, offsetof(struct fake_gpu, power_limit_mw), limit);
}

/* NVML_CLOCK_SM = 1, NVML_CLOCK_MEM = 2.  Graphics (0) and video (3) are not
 * modelled; anything from NVML_CLOCK_COUNT (4) on is a bad argument. */
static nvmlReturn_t clock_value(nvmlDevice_t dev, unsigned type, size_t sm_off, size_t mem_off,
                                unsigned *clock) {
    if (type == 1) return device_u32(dev, sm_off, clock);
    if (type == 2) return device_u32(dev, mem_off, clock);
    return device_error(dev, type < 4 ? NVML_ERROR_NOT_SUPPORTED : NVML_ERROR_INVALID_ARGUMENT);
}

nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t dev, unsigned type, unsigned *clock) {
    return clock_value(dev, type, offsetof(struct fake_gpu, sm_clock),
                       offsetof(struct fake_gpu, mem_clock), clock);
}

nvmlReturn_t nvmlDeviceGetMaxClockInfo(nvmlDevice_t dev, unsigned type, unsigned *clock) {
    return clock_value(dev, type, offsetof(struct fake_gpu, sm_clock_max),
                       offsetof(struct fake_gpu, mem_clock_max), clock);
}

nvmlReturn_t nvmlDeviceGetFanSpeed_v2(nvmlDevice_t dev, unsigned fan, unsigned *speed) {
    nvmlReturn_t rc = enter_device(dev);
    /* Checked before the index, so fan=na always reads as NOT_SUPPORTED. */
    if (!rc && !dev->fan.ok) rc = NVML_ERROR_NOT_SUPPORTED;
    if (!rc && dev->num_fans.ok && fan >= dev->num_fans.v) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (!rc) rc = put_u32(dev->fan, speed); /* all fans spin at the same speed */
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetFanSpeed(nvmlDevice_t dev, unsigned *speed) {
    return nvmlDeviceGetFanSpeed_v2(dev, 0, speed);
}

nvmlReturn_t nvmlDeviceGetNumFans(nvmlDevice_t dev, unsigned *numFans) {
    return device_u32(dev, offsetof(struct fake_gpu, num_fans), numFans);
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t dev, nvmlPciInfo_t *pci) {
    nvmlReturn_t rc = enter_device(dev);
    if (!rc && !pci) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (!rc) {
        opt_t b = dev->bus;
        unsigned bus = b.ok ? (unsigned)b.v : gpu_index(dev) + 1; /* bus 0 is never a GPU */
        memset(pci, 0, sizeof *pci);
        pci->bus = bus;
        pci->pciDeviceId = 0x233010DE; /* device 0x2330 (H100 SXM5) << 16 | vendor NVIDIA */
        pci->pciSubSystemId = 0x16C110DE;
        snprintf(pci->busId, sizeof pci->busId, "00000000:%02X:00.0", bus & 0xFF);
        snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "0000:%02X:00.0", bus & 0xFF);
    }
    return leave(rc);
}

/* -------------------------------------------------------------- health */

nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t dev, unsigned errorType,
                                         unsigned counterType, unsigned long long *eccCounts) {
    /* [counterType][errorType]: VOLATILE = 0, AGGREGATE = 1; CORRECTED = 0, UNCORRECTED = 1 */
    static const size_t offs[2][2] = {
        {offsetof(struct fake_gpu, ecc_vol_corr), offsetof(struct fake_gpu, ecc_vol_uncorr)},
        {offsetof(struct fake_gpu, ecc_agg_corr), offsetof(struct fake_gpu, ecc_agg_uncorr)},
    };
    if (errorType > 1 || counterType > 1) return device_error(dev, NVML_ERROR_INVALID_ARGUMENT);
    return device_u64(dev, offs[counterType][errorType], eccCounts);
}

/* Both retired-page calls.  cause: NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS
 * = 0, _DOUBLE_BIT_ECC_ERROR = 1.  Count protocol as documented: *pageCount
 * too small (0 = "how many?") -> INSUFFICIENT_SIZE with the needed count; the
 * buffers must never be NULL, even for that probe.  The addresses are made up
 * but stable, distinct per cause; timestamps are seconds since the epoch. */
static nvmlReturn_t retired_pages(nvmlDevice_t dev, unsigned cause, unsigned *pageCount,
                                  unsigned long long *addresses, unsigned long long *timestamps,
                                  int v2) {
    unsigned i, n;
    opt_t pages;
    nvmlReturn_t rc = enter_device(dev);
    if (!rc && (cause > 1 || !pageCount || !addresses || (v2 && !timestamps)))
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc) return leave(rc);
    pages = cause ? dev->retired_dbe : dev->retired_sbe;
    if (!pages.ok) return leave(NVML_ERROR_NOT_SUPPORTED);
    n = pages.v > 0xFFFF ? 0xFFFF : (unsigned)pages.v; /* a test never needs more */
    if (*pageCount < n) rc = NVML_ERROR_INSUFFICIENT_SIZE;
    *pageCount = n;
    for (i = 0; !rc && i < n; i++) {
        addresses[i] = 0x10000000ULL * (cause + 1) + 0x1000ULL * i;
        if (v2) timestamps[i] = 1700000000ULL + 3600ULL * i;
    }
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetRetiredPages(nvmlDevice_t dev, unsigned cause, unsigned *pageCount,
                                       unsigned long long *addresses) {
    return retired_pages(dev, cause, pageCount, addresses, NULL, 0);
}

nvmlReturn_t nvmlDeviceGetRetiredPages_v2(nvmlDevice_t dev, unsigned cause, unsigned *pageCount,
                                          unsigned long long *addresses,
                                          unsigned long long *timestamps) {
    return retired_pages(dev, cause, pageCount, addresses, timestamps, 1);
}

nvmlReturn_t nvmlDeviceGetRetiredPagesPendingStatus(nvmlDevice_t dev, unsigned *isPending) {
    return device_u32(dev, offsetof(struct fake_gpu, retired_pending), isPending);
}

/* Ampere+ GPUs remap rows instead of retiring pages; remap_corr= says the GPU
 * is one of those, and the other three counters then default to 0. */
nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t dev, unsigned *corrRows, unsigned *uncRows,
                                       unsigned *isPending, unsigned *failureOccurred) {
    opt_t unc, pending, failed;
    nvmlReturn_t rc = enter_device(dev);
    if (!rc && (!corrRows || !uncRows || !isPending || !failureOccurred))
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc) return leave(rc);
    unc = or_default(dev->remap_unc, 0);
    pending = or_default(dev->remap_pending, 0);
    failed = or_default(dev->remap_failed, 0);
    if (!dev->remap_corr.ok || !unc.ok || !pending.ok || !failed.ok)
        return leave(NVML_ERROR_NOT_SUPPORTED);
    *corrRows = (unsigned)dev->remap_corr.v;
    *uncRows = (unsigned)unc.v;
    *isPending = (unsigned)pending.v;
    *failureOccurred = (unsigned)failed.v;
    return leave(NVML_SUCCESS);
}

/* The Throttle and Event names are one call each, renamed in CUDA 12.2. */
nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t dev,
                                                    unsigned long long *reasons) {
    return device_u64(dev, offsetof(struct fake_gpu, throttle), reasons);
}

nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t dev,
                                                       unsigned long long *reasons) {
    return nvmlDeviceGetCurrentClocksEventReasons(dev, reasons);
}

nvmlReturn_t nvmlDeviceGetSupportedClocksEventReasons(nvmlDevice_t dev,
                                                      unsigned long long *reasons) {
    nvmlReturn_t rc = enter_device(dev);
    /* A GPU that reports reasons supports them all unless told otherwise. */
    if (!rc)
        rc = put_u64(dev->throttle_supported.given || !dev->throttle.ok
                         ? dev->throttle_supported : some(THROTTLE_DEFAULT),
                     reasons);
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetSupportedClocksThrottleReasons(nvmlDevice_t dev,
                                                         unsigned long long *reasons) {
    return nvmlDeviceGetSupportedClocksEventReasons(dev, reasons);
}

nvmlReturn_t nvmlDeviceGetCurrPcieLinkGeneration(nvmlDevice_t dev, unsigned *gen) {
    return device_u32(dev, offsetof(struct fake_gpu, pcie_gen), gen);
}

nvmlReturn_t nvmlDeviceGetMaxPcieLinkGeneration(nvmlDevice_t dev, unsigned *gen) {
    return device_u32(dev, offsetof(struct fake_gpu, pcie_gen_max), gen);
}

nvmlReturn_t nvmlDeviceGetCurrPcieLinkWidth(nvmlDevice_t dev, unsigned *width) {
    return device_u32(dev, offsetof(struct fake_gpu, pcie_width), width);
}

nvmlReturn_t nvmlDeviceGetMaxPcieLinkWidth(nvmlDevice_t dev, unsigned *width) {
    return device_u32(dev, offsetof(struct fake_gpu, pcie_width_max), width);
}

/* ----------------------------------------------------------------- MIG */

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t dev, unsigned *currentMode, unsigned *pendingMode) {
    nvmlReturn_t rc = enter_device(dev);
    if (!rc && !pendingMode) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (!rc) rc = put_u32(dev->mig, currentMode);
    if (!rc) *pendingMode = *currentMode;
    return leave(rc);
}

/* NVML: "Returns zero if MIG is not supported or enabled".  Here a GPU
 * without mig= does not have the call at all (NOT_SUPPORTED), like old
 * drivers; mig=0 gives 0; mig=1 gives mig_max (default 7). */
static opt_t mig_max(nvmlDevice_t dev) {
    if (!dev->mig.ok) return dev->mig;
    return mig_enabled(dev) ? or_default(dev->mig_max, MIG_MAX_DEFAULT) : some(0);
}

nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t dev, unsigned *count) {
    nvmlReturn_t rc = enter_device(dev);
    if (!rc) rc = put_u32(mig_max(dev), count);
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t dev, unsigned index,
                                                 nvmlDevice_t *migDevice) {
    opt_t max;
    nvmlReturn_t rc = enter_device(dev);
    if (!rc && !migDevice) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc) return leave(rc);
    max = mig_max(dev);
    if (!max.ok) return leave(NVML_ERROR_NOT_SUPPORTED);
    if (index >= max.v) return leave(NVML_ERROR_INVALID_ARGUMENT);
    /* Slots are sparse, as on real GPUs: an empty one is NOT_FOUND. */
    if (index >= MAX_MIGS || !g_cfg.migs[gpu_index(dev)][index].present)
        return leave(NVML_ERROR_NOT_FOUND);
    *migDevice = (nvmlDevice_t)(void *)&g_cfg.migs[gpu_index(dev)][index];
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceIsMigDeviceHandle(nvmlDevice_t dev, unsigned *isMigDevice) {
    struct fake_mig *m;
    nvmlReturn_t rc = enter_any(dev, &m);
    if (!rc) rc = put_u32(some(m != NULL), isMigDevice);
    return leave(rc);
}

/* The two instance IDs; a GPU handle is not an instance, so INVALID_ARGUMENT. */
static nvmlReturn_t instance_id(nvmlDevice_t dev, int compute, unsigned *id) {
    struct fake_mig *m;
    nvmlReturn_t rc = enter_any(dev, &m);
    if (!rc && !m) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (!rc) rc = put_u32(compute ? m->ci : m->gi, id);
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t dev, unsigned *id) {
    return instance_id(dev, 0, id);
}

nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t dev, unsigned *id) {
    return instance_id(dev, 1, id);
}

nvmlReturn_t nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t migDevice,
                                                          nvmlDevice_t *device) {
    struct fake_mig *m;
    nvmlReturn_t rc = enter_any(migDevice, &m);
    if (!rc && (!m || !device)) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (!rc) *device = &g_cfg.gpus[mig_parent(m)];
    return leave(rc);
}

/* ----------------------------------------------------------- processes */

/* Whether process line p belongs on the list of GPU gpu, or of MIG device m
 * (the parent's processes whose gi, and ci when both sides give one, match). */
static int proc_on(const struct fake_proc *p, unsigned gpu, const struct fake_mig *m) {
    if (p->gpu != gpu) return 0;
    if (!m) return 1;
    return p->gi.ok && m->gi.ok && p->gi.v == m->gi.v
        && (!p->ci.ok || !m->ci.ok || p->ci.v == m->ci.v);
}

/* The _v3 process lists.  A short buffer (including nvml-wrapper's count
 * probe: count 0, NULL buffer) gets INSUFFICIENT_SIZE and the needed count;
 * no processes at all is SUCCESS with count 0. */
static nvmlReturn_t running_processes(nvmlDevice_t dev, int graphics, unsigned *count,
                                      nvmlProcessInfo_t *infos) {
    struct fake_mig *m;
    unsigned i, n = 0, gpu;
    nvmlReturn_t rc = enter_any(dev, &m);
    if (!rc && !count) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc) return leave(rc);
    gpu = m ? mig_parent(m) : gpu_index(dev);
    for (i = 0; i < g_cfg.nprocs; i++)
        n += proc_on(&g_cfg.procs[i], gpu, m) && g_cfg.procs[i].graphics == graphics;
    if (n > 0 && (!infos || *count < n)) rc = NVML_ERROR_INSUFFICIENT_SIZE;
    *count = n;
    if (rc || n == 0) return leave(rc);
    for (i = 0, n = 0; i < g_cfg.nprocs; i++) {
        const struct fake_proc *p = &g_cfg.procs[i];
        if (!proc_on(p, gpu, m) || p->graphics != graphics) continue;
        infos[n++] = (nvmlProcessInfo_t){
            .pid = (unsigned)p->pid.v,
            .usedGpuMemory = p->used.ok ? p->used.v : VALUE_NOT_AVAILABLE,
            .gpuInstanceId = p->gi.ok ? (unsigned)p->gi.v : NO_INSTANCE,
            .computeInstanceId = p->ci.ok ? (unsigned)p->ci.v : NO_INSTANCE,
        };
    }
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t dev, unsigned *infoCount,
                                                     nvmlProcessInfo_t *infos) {
    return running_processes(dev, 0, infoCount, infos);
}

nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t dev, unsigned *infoCount,
                                                      nvmlProcessInfo_t *infos) {
    return running_processes(dev, 1, infoCount, infos);
}

#ifndef FAKE_NVML_OMIT_PROCESS_UTILIZATION
/* The "now" samples were stamped with, per GPU.  nvml-wrapper asks twice
 * (count, then data) with the same lastSeenTimeStamp; were "now" to move in
 * between, a sample could cross lastSeenTimeStamp and the second call fail
 * with INSUFFICIENT_SIZE.  A real driver's buffer is just as steady between
 * two quick calls, so reuse the stamp for SAMPLE_HOLD_US. */
static struct { int valid; unsigned long long since, now, taken; } g_stamp[MAX_GPUS];

static unsigned long long sample_now(unsigned gpu, unsigned long long since) {
    unsigned long long mono = clock_us(CLOCK_MONOTONIC);
    if (!g_stamp[gpu].valid || g_stamp[gpu].since != since
        || mono - g_stamp[gpu].taken > SAMPLE_HOLD_US) {
        g_stamp[gpu].valid = 1;
        g_stamp[gpu].since = since;
        g_stamp[gpu].now = clock_us(CLOCK_REALTIME);
        g_stamp[gpu].taken = mono;
    }
    return g_stamp[gpu].now;
}

/* The samples of GPU gpu newer than since: counted, and written to out
 * (up to cap) when out is not NULL.  Each sm= line is one sample, ts_age
 * seconds old; sm2= adds one a second older, placed after it so that a
 * consumer keeping the last sample per PID (not the newest) gets it wrong. */
static unsigned collect_samples(unsigned gpu, unsigned long long now, unsigned long long since,
                                nvmlProcessUtilizationSample_t *out, unsigned cap) {
    unsigned i, n = 0;
    for (i = 0; i < g_cfg.nprocs; i++) {
        const struct fake_proc *p = &g_cfg.procs[i];
        unsigned long long age = p->ts_age.ok ? p->ts_age.v * 1000000ULL : 0, ts;
        if (p->gpu != gpu || !p->sm.ok) continue;
        ts = now > age ? now - age : 0;
        if (ts > since) {
            if (out && n < cap)
                out[n] = (nvmlProcessUtilizationSample_t){
                    .pid = (unsigned)p->pid.v, .timeStamp = ts, .smUtil = (unsigned)p->sm.v,
                    .memUtil = p->mem.ok ? (unsigned)p->mem.v : 0};
            n++;
        }
        ts = ts > 1000000ULL ? ts - 1000000ULL : 0;
        if (p->sm2.ok && ts > since) {
            if (out && n < cap)
                out[n] = (nvmlProcessUtilizationSample_t){
                    .pid = (unsigned)p->pid.v, .timeStamp = ts, .smUtil = (unsigned)p->sm2.v,
                    .memUtil = p->mem.ok ? (unsigned)p->mem.v : 0};
            n++;
        }
    }
    return n;
}

/* Only samples newer than lastSeenTimeStamp count.  Same count-probe protocol
 * as the process lists, but "nothing" is NOT_FOUND.  sm= is passed through
 * as given, even above 100 %, as real drivers sometimes report. */
nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t dev,
                                             nvmlProcessUtilizationSample_t *utilization,
                                             unsigned *processSamplesCount,
                                             unsigned long long lastSeenTimeStamp) {
    unsigned long long now;
    unsigned n;
    nvmlReturn_t rc = enter_device(dev);
    if (!rc && !processSamplesCount) rc = NVML_ERROR_INVALID_ARGUMENT;
    /* Not reported for a GPU in MIG mode, as on real drivers. */
    if (!rc && mig_enabled(dev)) rc = NVML_ERROR_NOT_SUPPORTED;
    if (rc) return leave(rc);
    now = sample_now(gpu_index(dev), lastSeenTimeStamp);
    n = collect_samples(gpu_index(dev), now, lastSeenTimeStamp, NULL, 0);
    if (n == 0) return leave(NVML_ERROR_NOT_FOUND);
    if (!utilization || *processSamplesCount < n) rc = NVML_ERROR_INSUFFICIENT_SIZE;
    *processSamplesCount = n;
    if (!rc) collect_samples(gpu_index(dev), now, lastSeenTimeStamp, utilization, n);
    return leave(rc);
}
#endif

/* -------------------------------------------------------------- events */

/* Caller holds g_lock.  A freed set (or one dropped by the last shutdown)
 * is no longer valid. */
static int set_valid(nvmlEventSet_t set) {
    return points_into(set, g_sets, sizeof g_sets, sizeof g_sets[0]) && set->used;
}

nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set) {
    unsigned i;
    nvmlReturn_t rc = enter();
    if (!rc && !set) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc) return leave(rc);
    for (i = 0; i < MAX_EVENT_SETS && g_sets[i].used; i++) {}
    if (i == MAX_EVENT_SETS) return leave(NVML_ERROR_MEMORY);
    memset(&g_sets[i], 0, sizeof g_sets[i]);
    g_sets[i].used = 1;
    *set = &g_sets[i];
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) {
    nvmlReturn_t rc = enter();
    if (!rc && !set_valid(set)) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (!rc) set->used = 0;
    return leave(rc);
}

/* events= 0 (or na) means the GPU has no event support at all. */
static opt_t supported_events(nvmlDevice_t dev) {
    opt_t e = or_default(dev->events, EVENTS_DEFAULT);
    return e.ok && e.v == 0 ? (opt_t){0, 1, 0} : e;
}

nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t dev, unsigned long long *eventTypes) {
    nvmlReturn_t rc = enter_device(dev);
    if (!rc) rc = put_u64(supported_events(dev), eventTypes);
    return leave(rc);
}

/* NVML: NOT_SUPPORTED "if the platform does not support this feature or some
 * of requested event types". */
nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t dev, unsigned long long eventTypes,
                                      nvmlEventSet_t set) {
    opt_t supported;
    nvmlReturn_t rc = enter_device(dev);
    if (!rc && !set_valid(set)) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc) return leave(rc);
    supported = supported_events(dev);
    if (!supported.ok || (eventTypes & ~supported.v)) return leave(NVML_ERROR_NOT_SUPPORTED);
    set->types[gpu_index(dev)] |= eventTypes;
    return leave(NVML_SUCCESS);
}

static int delivered(const struct fake_event_set *set, const struct fake_xid *x) {
    unsigned i;
    for (i = 0; i < set->ndelivered; i++)
        if (set->delivered[i].gpu == x->gpu && set->delivered[i].seq == x->seq.v) return 1;
    return 0;
}

/* The first xid line (file order) this set registered for and has not had.
 * A set that cannot remember one more delivery gets nothing more, rather
 * than the same XID again and again.  Caller holds g_lock. */
static const struct fake_xid *pending_xid(const struct fake_event_set *set) {
    unsigned i;
    if (set->ndelivered == MAX_DELIVERED) return NULL;
    for (i = 0; i < g_cfg.nxids; i++) {
        const struct fake_xid *x = &g_cfg.xids[i];
        if (x->gpu < g_cfg.ngpus && (set->types[x->gpu] & EVENT_XID) && !delivered(set, x))
            return x;
    }
    return NULL;
}

/* An inotify descriptor that wakes when anything in the config file's directory is written,
 * created or renamed into it; -1 when that cannot be had (no config, no inotify). One per
 * wait: several threads may wait at once, and each must see the change. */
static int config_watch(void) {
    char dir[1024];
    char *slash;
    int fd;
    const char *path = getenv("FAKE_NVML_CONFIG");
    if (!path || !*path) return -1;
    copy_bounded(dir, sizeof dir, path);
    slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = 0;
    else if (slash) *slash = 0;
    else copy_bounded(dir, sizeof dir, ".");
    fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd < 0) return -1;
    if (inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_TO | IN_CREATE | IN_ATTRIB) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Delivers pending XIDs; otherwise waits without the lock (sampling calls from other threads
 * go on meanwhile) until the config's directory changes or the timeout passes, as the real
 * library blocks in the driver, then re-reads the config: an xid line written during the wait
 * arrives at once. Without inotify it sleeps in WAIT_SLICE_MS slices. An idle watcher costs
 * one wake-up per timeout, as on a real node, not four a second: a peer measured against
 * gpudock pays for nothing gpudock's watcher would not pay on real hardware.
 * v1 callers get the 24-byte struct without instance IDs. */
static nvmlReturn_t event_wait(nvmlEventSet_t set, nvmlEventData_t *data, unsigned timeoutms,
                               int v2) {
    unsigned long long deadline = clock_us(CLOCK_MONOTONIC) + timeoutms * 1000ULL, now;
    nvmlReturn_t rc = enter();
    int watch = -1;
    if (!rc && (!set_valid(set) || !data)) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (!rc) watch = config_watch();
    while (!rc) {
        const struct fake_xid *x = pending_xid(set);
        if (x) {
            set->delivered[set->ndelivered].gpu = x->gpu;
            set->delivered[set->ndelivered++].seq = x->seq.v;
            data->device = &g_cfg.gpus[x->gpu];
            data->eventType = EVENT_XID;
            data->eventData = x->code;
            if (v2) data->gpuInstanceId = data->computeInstanceId = NO_INSTANCE;
            break;
        }
        now = clock_us(CLOCK_MONOTONIC);
        if (now >= deadline) {
            rc = NVML_ERROR_TIMEOUT;
            break;
        }
        pthread_mutex_unlock(&g_lock);
        if (watch >= 0) {
            struct pollfd p = { watch, POLLIN, 0 };
            char events[4096];
            if (poll(&p, 1, (int)((deadline - now + 999) / 1000)) > 0)
                while (read(watch, events, sizeof events) > 0) {} /* drained: non-blocking */
        } else {
            struct timespec slice;
            now = deadline - now < WAIT_SLICE_MS * 1000ULL ? deadline - now : WAIT_SLICE_MS * 1000ULL;
            slice.tv_sec = 0;
            slice.tv_nsec = (long)(now * 1000);
            nanosleep(&slice, NULL); /* EINTR just ends the slice early */
        }
        rc = enter();
        /* Freed by another thread, or the last nvmlShutdown dropped it. */
        if (!rc && !set_valid(set)) rc = NVML_ERROR_INVALID_ARGUMENT;
    }
    if (watch >= 0) close(watch);
    return leave(rc);
}

nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned timeoutms) {
    return event_wait(set, data, timeoutms, 1);
}

nvmlReturn_t nvmlEventSetWait(nvmlEventSet_t set, nvmlEventData_t *data, unsigned timeoutms) {
    return event_wait(set, data, timeoutms, 0);
}

/* -------------------------------------------- what other monitors ask */

/* nvitop asks every GPU for these each refresh; without the symbols it logs a traceback per
 * call. Answered NOT_SUPPORTED (after the handle is checked), so peers measured side by side
 * with gpudock run their normal path against the same fake node. */
#define NOT_SUPPORTED_1(name, type) \
    nvmlReturn_t name(nvmlDevice_t dev, type *out) { (void)out; return device_error(dev, NVML_ERROR_NOT_SUPPORTED); }
#define NOT_SUPPORTED_2(name, type) \
    nvmlReturn_t name(nvmlDevice_t dev, type *a, type *b) { (void)a; (void)b; return device_error(dev, NVML_ERROR_NOT_SUPPORTED); }
NOT_SUPPORTED_1(nvmlDeviceGetComputeMode, unsigned)
NOT_SUPPORTED_1(nvmlDeviceGetPerformanceState, unsigned)
NOT_SUPPORTED_1(nvmlDeviceGetPersistenceMode, unsigned)
NOT_SUPPORTED_1(nvmlDeviceGetDisplayActive, unsigned)
NOT_SUPPORTED_1(nvmlDeviceGetDisplayMode, unsigned)
NOT_SUPPORTED_2(nvmlDeviceGetDriverModel, unsigned)
NOT_SUPPORTED_2(nvmlDeviceGetDriverModel_v2, unsigned)
NOT_SUPPORTED_2(nvmlDeviceGetEncoderUtilization, unsigned)
NOT_SUPPORTED_2(nvmlDeviceGetDecoderUtilization, unsigned)

/* pynvml (nvitop) initialises through the flags variant. */
nvmlReturn_t nvmlInitWithFlags(unsigned flags) {
    (void)flags;
    return nvmlInit_v2();
}

/* ------------------------------------------------------- DGX fabric */
/*
 *   gpu <idx> ... bus=0x18 (PCI bus; default idx + 1)  numa=N  cpus=0xMASK (CPU affinity,
 *       one 64-bit word)  pcie_switch=N (GPUs with the same N share a PCIe switch)
 *       fabric_state=0..3 (not supported / not started / in progress / completed)
 *       fabric_status=N (an nvmlReturn_t; default 0)
 *   link <gpu> <link 0-17> state=0|1 version=4 peer=switch|<gpu idx>
 *       replay= recovery= crc_flit= crc_data=      one NVLink; links without a line are absent
 *   topo <a> <b> level=N    nvmlGpuTopologyLevel_t between a and b (0,10,20,30,40,50)
 *
 * Without topo lines the level is derived: PIX (10) for the same pcie_switch, NODE (40)
 * for the same numa, SYS (50) otherwise; NOT_SUPPORTED when neither GPU has numa=.
 */
#define SWITCH_BUS_BASE 0xA0 /* NVSwitches sit on their own buses, as on a DGX */

typedef unsigned int nvmlEnableState_t;
typedef struct {
    unsigned char clusterUuid[16];
    nvmlReturn_t status;
    unsigned int cliqueId;
    unsigned char state;
} nvmlGpuFabricInfo_t;
typedef struct {
    unsigned int version;
    unsigned char clusterUuid[16];
    nvmlReturn_t status;
    unsigned int cliqueId;
    unsigned char state;
    unsigned int healthMask;
    unsigned char healthSummary;
} nvmlGpuFabricInfoV_t;
_Static_assert(sizeof(nvmlGpuFabricInfo_t) == 28, "nvmlGpuFabricInfo_t is 28 bytes");
_Static_assert(sizeof(nvmlGpuFabricInfoV_t) == 40, "nvmlGpuFabricInfo_v3_t is 40 bytes");

/* Enters a GPU call on one link: the link, or NOT_SUPPORTED when it is absent. */
static nvmlReturn_t enter_link(nvmlDevice_t dev, unsigned link, struct fake_link **out) {
    nvmlReturn_t rc = enter_device(dev);
    if (rc) return rc;
    if (link >= MAX_LINKS) return NVML_ERROR_INVALID_ARGUMENT;
    *out = &g_cfg.links[gpu_index(dev)][link];
    return (*out)->present ? NVML_SUCCESS : NVML_ERROR_NOT_SUPPORTED;
}

nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t dev, unsigned link, nvmlEnableState_t *active) {
    struct fake_link *l;
    nvmlReturn_t rc = enter_link(dev, link, &l);
    if (!rc) rc = put_u32(l->state, active);
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetNvLinkVersion(nvmlDevice_t dev, unsigned link, unsigned *version) {
    struct fake_link *l;
    nvmlReturn_t rc = enter_link(dev, link, &l);
    if (!rc) rc = put_u32(l->version, version);
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetNvLinkErrorCounter(nvmlDevice_t dev, unsigned link, unsigned counter,
                                             unsigned long long *value) {
    struct fake_link *l;
    nvmlReturn_t rc = enter_link(dev, link, &l);
    if (!rc) {
        /* 0 replay, 1 recovery, 2 CRC flit, 3 CRC data; 4 (ECC data) is not modelled */
        opt_t none = {0, 0, 0}, v = counter == 0 ? l->replay : counter == 1 ? l->recovery
                                  : counter == 2 ? l->crc_flit : counter == 3 ? l->crc_data : none;
        rc = put_u64(v, value);
    }
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo_v2(nvmlDevice_t dev, unsigned link, nvmlPciInfo_t *pci) {
    struct fake_link *l;
    nvmlReturn_t rc = enter_link(dev, link, &l);
    if (!rc && !pci) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (!rc && !l->peer_switch && !(l->peer.ok && l->peer.v < g_cfg.ngpus)) rc = NVML_ERROR_NOT_SUPPORTED;
    if (!rc) {
        unsigned bus, device_id;
        if (l->peer_switch) {
            bus = SWITCH_BUS_BASE + link % 4; /* four NVSwitches, links spread over them */
            device_id = 0x22A310DE;           /* NVSwitch (Hopper generation) */
        } else {
            opt_t b = g_cfg.gpus[l->peer.v].bus;
            bus = b.ok ? (unsigned)b.v : (unsigned)l->peer.v + 1;
            device_id = 0x233010DE;
        }
        memset(pci, 0, sizeof *pci);
        pci->bus = bus;
        pci->pciDeviceId = device_id;
        snprintf(pci->busId, sizeof pci->busId, "00000000:%02X:00.0", bus & 0xFF);
        snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "0000:%02X:00.0", bus & 0xFF);
    }
    return leave(rc);
}

/* nvmlIntNvLinkDeviceType_t: 0 GPU, 1 IBM NPU, 2 switch */
nvmlReturn_t nvmlDeviceGetNvLinkRemoteDeviceType(nvmlDevice_t dev, unsigned link, unsigned *type) {
    struct fake_link *l;
    nvmlReturn_t rc = enter_link(dev, link, &l);
    if (!rc && !type) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (!rc) *type = l->peer_switch ? 2 : 0;
    return leave(rc);
}

static nvmlReturn_t fabric_values(nvmlDevice_t dev, unsigned char *state, nvmlReturn_t *status) {
    nvmlReturn_t rc = enter_device(dev);
    if (!rc) {
        opt_t st = dev->fabric_state, stat = or_default(dev->fabric_status, 0);
        if (!st.ok) return NVML_ERROR_NOT_SUPPORTED;
        *state = (unsigned char)st.v;
        *status = (nvmlReturn_t)stat.v;
    }
    return rc;
}

nvmlReturn_t nvmlDeviceGetGpuFabricInfo(nvmlDevice_t dev, nvmlGpuFabricInfo_t *info) {
    nvmlReturn_t rc;
    if (!info) return device_error(dev, NVML_ERROR_INVALID_ARGUMENT);
    memset(info, 0, sizeof *info);
    rc = fabric_values(dev, &info->state, &info->status);
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetGpuFabricInfoV(nvmlDevice_t dev, nvmlGpuFabricInfoV_t *info) {
    nvmlReturn_t rc;
    unsigned version;
    if (!info) return device_error(dev, NVML_ERROR_INVALID_ARGUMENT);
    version = info->version >> 24;
    /* v2 (36 bytes, no healthSummary) and v3 (40) share the prefix */
    if (!((version == 2 && (info->version & 0xFFFFFF) == 36) || (version == 3 && (info->version & 0xFFFFFF) == 40)))
        return device_error(dev, NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
    memset((char *)info + sizeof info->version, 0, (version == 3 ? 40 : 36) - sizeof info->version);
    rc = fabric_values(dev, &info->state, &info->status);
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetTopologyCommonAncestor(nvmlDevice_t a, nvmlDevice_t b, unsigned *level) {
    nvmlReturn_t rc = enter_device(a);
    if (!rc) {
        /* the lock is held: check the second handle by hand rather than re-entering */
        if (!points_into(b, g_cfg.gpus, sizeof g_cfg.gpus, sizeof g_cfg.gpus[0])) {
            rc = NVML_ERROR_INVALID_ARGUMENT;
        } else if (gpu_index(b) >= g_cfg.ngpus) {
            rc = NVML_ERROR_GPU_IS_LOST;
        } else if (!level) {
            rc = NVML_ERROR_INVALID_ARGUMENT;
        } else {
            unsigned ia = gpu_index(a), ib = gpu_index(b);
            const struct fake_gpu *ga = &g_cfg.gpus[ia], *gb = &g_cfg.gpus[ib];
            if (ia == ib) *level = 0;
            else if (g_cfg.topo[ia][ib]) *level = g_cfg.topo[ia][ib] - 1;
            else if (!ga->numa.ok || !gb->numa.ok) rc = NVML_ERROR_NOT_SUPPORTED;
            else if (ga->pcie_switch.ok && gb->pcie_switch.ok && ga->pcie_switch.v == gb->pcie_switch.v) *level = 10;
            else *level = ga->numa.v == gb->numa.v ? 40 : 50;
        }
    }
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetCpuAffinity(nvmlDevice_t dev, unsigned size, unsigned long *set) {
    nvmlReturn_t rc = enter_device(dev);
    if (!rc && (!set || size == 0)) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (!rc && !dev->cpus.ok) rc = NVML_ERROR_NOT_SUPPORTED;
    if (!rc) {
        memset(set, 0, size * sizeof *set);
        set[0] = (unsigned long)dev->cpus.v;
    }
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetNumaNodeId(nvmlDevice_t dev, unsigned *node) {
    return device_u32(dev, offsetof(struct fake_gpu, numa), node);
}
