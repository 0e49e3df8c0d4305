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
 *   proc <gpu> pid=N used=BYTES [sm=% mem=%] [gi=N ci=N] [name=...]  compute process
 *   gproc <gpu> (same keys)                                          graphics process
 *
 * Any GPU value may be `na`; a na or omitted value makes the matching call
 * return NVML_ERROR_NOT_SUPPORTED (so MIG is unsupported unless mig= is given).
 * Process used=na (or omitted) -> usedGpuMemory = NVML_VALUE_NOT_AVAILABLE,
 * i.e. UsedGpuMemory::Unavailable; gi/ci omitted -> 0xFFFFFFFF (no instance).
 * Each proc/gproc line with sm= is one per-process utilization sample stamped
 * "now" (microseconds).  name= feeds nvmlSystemGetProcessName, which otherwise
 * answers "fakeproc<pid>".  FAKE_NVML_DEBUG=1 prints parse warnings on stderr
 * (off by default so a TUI's screen stays clean).
 */
#define _POSIX_C_SOURCE 200809L /* st_mtim, clock_gettime under -std=c11 too */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_GPUS 16
#define MAX_PROCS 256
#define STR_MAX 96 /* NVML_DEVICE_NAME_V2_BUFFER_SIZE == NVML_DEVICE_UUID_V2_BUFFER_SIZE */
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef unsigned int nvmlReturn_t; /* C enum: 0 = success, see nvmlErrorString() */
enum {
    NVML_SUCCESS = 0, NVML_ERROR_UNINITIALIZED = 1, NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3, NVML_ERROR_NOT_FOUND = 6, NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_GPU_IS_LOST = 15, NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
};
#define VALUE_NOT_AVAILABLE 0xFFFFFFFFFFFFFFFFULL /* NVML_VALUE_NOT_AVAILABLE (-1) as u64 */
#define NO_INSTANCE 0xFFFFFFFFu

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

/* Cheap insurance that the layouts match what the Rust bindings assume. */
_Static_assert(sizeof(nvmlProcessInfo_t) == 24, "nvmlProcessInfo_v2_t is 24 bytes");
_Static_assert(sizeof(nvmlProcessUtilizationSample_t) == 32, "sample is 32 bytes");
_Static_assert(sizeof(nvmlMemory_v2_t) == 40, "nvmlMemory_v2_t is 40 bytes");
_Static_assert(sizeof(nvmlPciInfo_t) == 68, "nvmlPciInfo_t is 68 bytes");

/* NVML_STRUCT_VERSION(Memory, 2): what nvml-wrapper writes into .version */
#define MEMORY_V2_VERSION ((unsigned)(sizeof(nvmlMemory_v2_t) | (2u << 24)))

/* A config value; ok == 0 means "na" or not given. */
typedef struct { int ok; unsigned long long v; } opt_t;

struct fake_gpu {
    int has_name, has_uuid;
    char name[STR_MAX], uuid[STR_MAX];
    opt_t mem_total, mem_used, util_gpu, util_mem, temp, power_mw, power_limit_mw,
        sm_clock, mem_clock, fan, num_fans, mig;
};
/* Opaque to callers.  Ours points into g_cfg.gpus, whose address never
 * changes, so handles stay valid across config reloads. */
typedef struct fake_gpu *nvmlDevice_t;

struct fake_proc {
    unsigned gpu;
    int graphics;
    opt_t pid, used, sm, mem, gi, ci;
    char name[64];
};

struct config {
    unsigned init_error, ngpus, nprocs;
    int has_driver;
    char driver[80]; /* NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE */
    opt_t cuda;
    struct fake_gpu gpus[MAX_GPUS];
    struct fake_proc procs[MAX_PROCS];
};

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

static void warn(const char *fmt, ...) {
    va_list ap;
    if (!getenv("FAKE_NVML_DEBUG")) return;
    va_start(ap, fmt);
    fputs("fake_nvml: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
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

static opt_t parse_opt(const char *key, const char *v) {
    opt_t o = {0, 0};
    char *end;
    if (!v || strcmp(v, "na") == 0) return o;
    errno = 0;
    o.v = strtoull(v, &end, 10);
    if (*v == '\0' || *v == '-' || *end != '\0' || errno) {
        warn("bad number for %s: '%s' (treated as na)", key, v);
        return (opt_t){0, 0};
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

/* Numeric keys of each record type, located by offset so one loop parses both. */
struct field { const char *key; size_t off; };
#define GPU_FIELD(f) {#f, offsetof(struct fake_gpu, f)}
static const struct field gpu_fields[] = {
    GPU_FIELD(mem_total), GPU_FIELD(mem_used), GPU_FIELD(util_gpu), GPU_FIELD(util_mem),
    GPU_FIELD(temp), GPU_FIELD(power_mw), GPU_FIELD(power_limit_mw), GPU_FIELD(sm_clock),
    GPU_FIELD(mem_clock), GPU_FIELD(fan), GPU_FIELD(num_fans), GPU_FIELD(mig),
};
#define PROC_FIELD(f) {#f, offsetof(struct fake_proc, f)}
static const struct field proc_fields[] = {
    PROC_FIELD(pid), PROC_FIELD(used), PROC_FIELD(sm),
    PROC_FIELD(mem), PROC_FIELD(gi),   PROC_FIELD(ci),
};

/* Parses "<index> key=value ..." into rec.  String keys are handled by the
 * caller-supplied str_field(), which returns 0 for keys it does not know. */
static int parse_record(char *rest, void *rec, const struct field *fields, size_t nfields,
                        unsigned *index, int (*str_field)(void *, const char *, const char *)) {
    char *tok = next_token(&rest);
    opt_t idx = parse_opt("index", tok);
    if (!idx.ok || idx.v >= MAX_GPUS) {
        warn("bad or out-of-range GPU index '%s'", tok ? tok : "");
        return 0;
    }
    *index = (unsigned)idx.v;
    while ((tok = next_token(&rest))) {
        char *val = strchr(tok, '=');
        size_t i;
        if (!val) { warn("expected key=value, got '%s'", tok); continue; }
        *val++ = '\0';
        if (str_field(rec, tok, val)) continue;
        for (i = 0; i < nfields && strcmp(tok, fields[i].key) != 0; i++) {}
        if (i < nfields) *(opt_t *)((char *)rec + fields[i].off) = parse_opt(tok, val);
        else warn("unknown key '%s'", tok);
    }
    return 1;
}

static int gpu_str_field(void *rec, const char *key, const char *val) {
    struct fake_gpu *g = rec;
    int is_name = strcmp(key, "name") == 0, ok = strcmp(val, "na") != 0;
    if (!is_name && strcmp(key, "uuid") != 0) return 0;
    *(is_name ? &g->has_name : &g->has_uuid) = ok;
    copy_bounded(is_name ? g->name : g->uuid, STR_MAX, ok ? val : "");
    return 1;
}

static int proc_str_field(void *rec, const char *key, const char *val) {
    struct fake_proc *p = rec;
    if (strcmp(key, "name") != 0) return 0;
    copy_bounded(p->name, sizeof p->name, val);
    return 1;
}

static void parse_file(FILE *f, struct config *c) {
    char line[4096];
    struct fake_gpu g;
    struct fake_proc pr;
    unsigned idx;
    while (fgets(line, sizeof line, f)) {
        char *rest = line, *kw = next_token(&rest), *arg;
        if (!kw) continue;
        if (strcmp(kw, "gpu") == 0) {
            memset(&g, 0, sizeof g);
            g.num_fans.v = VALUE_NOT_AVAILABLE; /* marks "num_fans not given" */
            if (!parse_record(rest, &g, gpu_fields, COUNT(gpu_fields), &idx, gpu_str_field))
                continue;
            /* A card with a fan reading has at least one fan; passively cooled
             * cards (fan=na) report zero fans, as real datacenter GPUs do. */
            if (!g.num_fans.ok && g.num_fans.v == VALUE_NOT_AVAILABLE)
                g.num_fans = (opt_t){1, g.fan.ok ? 1 : 0};
            c->gpus[idx] = g;
            if (idx >= c->ngpus) c->ngpus = idx + 1;
        } else if (strcmp(kw, "proc") == 0 || strcmp(kw, "gproc") == 0) {
            memset(&pr, 0, sizeof pr);
            pr.graphics = kw[0] == 'g';
            if (!parse_record(rest, &pr, proc_fields, COUNT(proc_fields), &pr.gpu,
                              proc_str_field))
                continue;
            if (!pr.pid.ok) warn("process line without pid= ignored");
            else if (c->nprocs >= MAX_PROCS) warn("over %d processes", MAX_PROCS);
            else c->procs[c->nprocs++] = pr;
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

static nvmlReturn_t enter_device(nvmlDevice_t dev) {
    uintptr_t p = (uintptr_t)dev, base = (uintptr_t)g_cfg.gpus;
    nvmlReturn_t rc = enter();
    if (rc) return rc;
    if (p < base || p >= base + sizeof g_cfg.gpus || (p - base) % sizeof *dev)
        return NVML_ERROR_INVALID_ARGUMENT;
    /* Handle issued before the config shrank: the GPU "fell off the bus". */
    if ((unsigned)(dev - g_cfg.gpus) >= g_cfg.ngpus) return NVML_ERROR_GPU_IS_LOST;
    return NVML_SUCCESS;
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

/* Like real NVML: a too-small buffer is INSUFFICIENT_SIZE, not a truncation. */
static nvmlReturn_t put_str(int ok, const char *src, char *dst, unsigned len) {
    if (!dst) return NVML_ERROR_INVALID_ARGUMENT;
    if (!ok) return NVML_ERROR_NOT_SUPPORTED;
    if (strlen(src) + 1 > len) return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(dst, src, strlen(src) + 1);
    return NVML_SUCCESS;
}

static nvmlReturn_t device_u32(nvmlDevice_t dev, size_t off, unsigned *out) {
    nvmlReturn_t rc = enter_device(dev);
    if (!rc) rc = put_u32(*(opt_t *)((char *)dev + off), out);
    return leave(rc);
}

static unsigned gpu_index(nvmlDevice_t dev) { return (unsigned)(dev - g_cfg.gpus); }

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
    g_init_count--;
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
    if (!rc) rc = put_u32((opt_t){1, g_cfg.ngpus}, deviceCount);
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
    if (!rc) rc = put_u32((opt_t){1, gpu_index(dev)}, index);
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t dev, char *name, unsigned length) {
    nvmlReturn_t rc = enter_device(dev);
    if (!rc) rc = put_str(dev->has_name, dev->name, name, length);
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t dev, char *uuid, unsigned length) {
    nvmlReturn_t rc = enter_device(dev);
    if (!rc) rc = put_str(dev->has_uuid, dev->uuid, uuid, length);
    return leave(rc);
}

/* Both memory calls: needs mem_total and mem_used; reserved is always 0. */
static nvmlReturn_t memory_values(nvmlDevice_t dev, unsigned long long *total,
                                  unsigned long long *freemem, unsigned long long *used) {
    if (!dev->mem_total.ok || !dev->mem_used.ok) return NVML_ERROR_NOT_SUPPORTED;
    *total = dev->mem_total.v;
    *used = dev->mem_used.v;
    *freemem = *total > *used ? *total - *used : 0;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t dev, nvmlMemory_t *m) {
    nvmlReturn_t rc = enter_device(dev);
    if (!rc && !m) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (!rc) rc = memory_values(dev, &m->total, &m->free, &m->used);
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t dev, nvmlMemory_v2_t *m) {
    nvmlReturn_t rc = enter_device(dev);
    if (!rc && !m) rc = NVML_ERROR_INVALID_ARGUMENT;
    /* Real NVML refuses a struct version it does not know. */
    if (!rc && m->version != MEMORY_V2_VERSION) rc = NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    if (!rc) rc = memory_values(dev, &m->total, &m->free, &m->used);
    if (!rc) m->reserved = 0;
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t dev, nvmlUtilization_t *util) {
    nvmlReturn_t rc = enter_device(dev);
    if (!rc && !util) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (!rc && (!dev->util_gpu.ok || !dev->util_mem.ok)) rc = NVML_ERROR_NOT_SUPPORTED;
    if (!rc) *util = (nvmlUtilization_t){(unsigned)dev->util_gpu.v, (unsigned)dev->util_mem.v};
    return leave(rc);
}

/* Answers a call whose argument selects nothing we model. */
static nvmlReturn_t device_error(nvmlDevice_t dev, nvmlReturn_t err) {
    nvmlReturn_t rc = enter_device(dev);
    return leave(rc ? rc : err);
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

nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t dev, unsigned type, unsigned *clock) {
    /* NVML_CLOCK_SM = 1, NVML_CLOCK_MEM = 2.  Graphics (0) and video (3) are
     * not modelled; anything from NVML_CLOCK_COUNT (4) on is a bad argument. */
    if (type == 1) return device_u32(dev, offsetof(struct fake_gpu, sm_clock), clock);
    if (type == 2) return device_u32(dev, offsetof(struct fake_gpu, mem_clock), clock);
    return device_error(dev, type < 4 ? NVML_ERROR_NOT_SUPPORTED : NVML_ERROR_INVALID_ARGUMENT);
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

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t dev, unsigned *currentMode, unsigned *pendingMode) {
    nvmlReturn_t rc = enter_device(dev);
    if (!rc && !pendingMode) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (!rc) rc = put_u32(dev->mig, currentMode);
    if (!rc) *pendingMode = *currentMode;
    return leave(rc);
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t dev, nvmlPciInfo_t *pci) {
    nvmlReturn_t rc = enter_device(dev);
    if (!rc && !pci) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (!rc) {
        unsigned bus = gpu_index(dev) + 1; /* bus 0 is never a GPU */
        memset(pci, 0, sizeof *pci);
        pci->bus = bus;
        pci->pciDeviceId = 0x233010DE; /* device 0x2330 (H100 SXM5) << 16 | vendor NVIDIA */
        pci->pciSubSystemId = 0x16C110DE;
        snprintf(pci->busId, sizeof pci->busId, "00000000:%02X:00.0", bus & 0xFF);
        snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "0000:%02X:00.0", bus & 0xFF);
    }
    return leave(rc);
}

/* The _v3 process lists.  A short buffer (including nvml-wrapper's count
 * probe: count 0, NULL buffer) gets INSUFFICIENT_SIZE and the needed count;
 * no processes at all is SUCCESS with count 0. */
static nvmlReturn_t running_processes(nvmlDevice_t dev, int graphics, unsigned *count,
                                      nvmlProcessInfo_t *infos) {
    unsigned i, n = 0;
    nvmlReturn_t rc = enter_device(dev);
    if (!rc && !count) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc) return leave(rc);
    for (i = 0; i < g_cfg.nprocs; i++)
        n += g_cfg.procs[i].gpu == gpu_index(dev) && g_cfg.procs[i].graphics == graphics;
    if (n > 0 && (!infos || *count < n)) rc = NVML_ERROR_INSUFFICIENT_SIZE;
    *count = n;
    if (rc || n == 0) return leave(rc);
    for (i = 0, n = 0; i < g_cfg.nprocs; i++) {
        const struct fake_proc *p = &g_cfg.procs[i];
        if (p->gpu != gpu_index(dev) || p->graphics != graphics) continue;
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
/* Every process line with sm= is sampled "right now", so any lastSeenTimeStamp
 * in the past yields fresh samples and one in the future yields NOT_FOUND.
 * Same count-probe protocol as the process lists, but "nothing" is NOT_FOUND. */
nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t dev,
                                             nvmlProcessUtilizationSample_t *utilization,
                                             unsigned *processSamplesCount,
                                             unsigned long long lastSeenTimeStamp) {
    struct timespec ts;
    unsigned long long now;
    unsigned i, n = 0;
    nvmlReturn_t rc = enter_device(dev);
    if (!rc && !processSamplesCount) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc) return leave(rc);
    clock_gettime(CLOCK_REALTIME, &ts);
    now = (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000;
    for (i = 0; i < g_cfg.nprocs && now > lastSeenTimeStamp; i++)
        n += g_cfg.procs[i].gpu == gpu_index(dev) && g_cfg.procs[i].sm.ok;
    if (n == 0) return leave(NVML_ERROR_NOT_FOUND);
    if (!utilization || *processSamplesCount < n) rc = NVML_ERROR_INSUFFICIENT_SIZE;
    *processSamplesCount = n;
    if (rc) return leave(rc);
    for (i = 0, n = 0; i < g_cfg.nprocs; i++) {
        const struct fake_proc *p = &g_cfg.procs[i];
        if (p->gpu != gpu_index(dev) || !p->sm.ok) continue;
        utilization[n++] = (nvmlProcessUtilizationSample_t){
            .pid = (unsigned)p->pid.v,
            .timeStamp = now,
            .smUtil = (unsigned)p->sm.v,
            .memUtil = p->mem.ok ? (unsigned)p->mem.v : 0,
        };
    }
    return leave(NVML_SUCCESS);
}
#endif
