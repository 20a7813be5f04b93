/* SPDX-License-Identifier: MIT */
/*
 * PDM: the device manager (include/ixvm/dev.h).  Keeps the instance list in
 * creation order, gives each instance a recursive lock that every
 * dispatcher takes (ports through iom_map_ports_locked, MMIO through a
 * locking trampoline, timers through tm_timer_create's lock, saved state
 * and info handlers through the wrappers below), resets in creation order
 * and destroys in reverse order, undoing the registrations it made.
 */
#define LOG_GROUP LOG_GROUP_DEV
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ixvm/dev.h"
#include "ixvm/log.h"

struct pdm {
    struct dev_ctx ctx;
    struct dev_ins *first, *last;     /* creation order */
    struct irq_line isa[16];
    unsigned isa_count;
};

/* ---- configuration ------------------------------------------------------ */

static const char *dev_cfg_find(const struct dev_cfg *cfg, const char *key)
{
    if (!cfg)
        return NULL;
    for (size_t i = cfg->count; i-- > 0;)     /* the last setting wins */
        if (cfg->kv[i].key && !strcmp(cfg->kv[i].key, key))
            return cfg->kv[i].value ? cfg->kv[i].value : "";
    return NULL;
}

const char *dev_cfg_get_str(const struct dev_cfg *cfg, const char *key, const char *def)
{
    const char *v = dev_cfg_find(cfg, key);
    return v ? v : def;
}

int dev_cfg_get_u64(const struct dev_ins *ins, const struct dev_cfg *cfg, const char *key,
                    uint64_t def, uint64_t min, uint64_t max, uint64_t *out,
                    struct ixvm_errinfo *err)
{
    const char *v = dev_cfg_find(cfg, key);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 0);
    if (errno || end == v || *end || v[0] == '-')
        return ixvm_errinfo_set(err, IXVM_ERR_WRONG_TYPE, "device %s: %s = '%s' is not a number",
                                ins->name, key, v);
    if (n < min || n > max)
        return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE,
                                "device %s: %s = %s is outside %llu..%llu", ins->name, key, v,
                                (unsigned long long)min, (unsigned long long)max);
    *out = n;
    return 0;
}

int dev_cfg_get_bool(const struct dev_ins *ins, const struct dev_cfg *cfg, const char *key,
                     bool def, bool *out, struct ixvm_errinfo *err)
{
    static const char *const yes[] = { "1", "true", "yes", "on" };
    static const char *const no[] = { "0", "false", "no", "off" };
    const char *v = dev_cfg_find(cfg, key);
    if (!v) {
        *out = def;
        return 0;
    }
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(yes); i++) {
        if (!strcasecmp(v, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(v, no[i])) {
            *out = false;
            return 0;
        }
    }
    return ixvm_errinfo_set(err, IXVM_ERR_WRONG_TYPE, "device %s: %s = '%s' is not a boolean",
                            ins->name, key, v);
}

int dev_cfg_check_keys(const struct dev_ins *ins, const struct dev_cfg *cfg,
                       const char *const *known, struct ixvm_errinfo *err)
{
    for (size_t i = 0; cfg && i < cfg->count; i++) {
        const char *k = cfg->kv[i].key ? cfg->kv[i].key : "(null)";
        bool ok = false;
        for (const char *const *p = known; *p && !ok; p++)
            ok = !strcmp(*p, k);
        if (!ok)
            return ixvm_errinfo_set(err, IXVM_ERR_UNKNOWN_KEY, "device %s: unknown setting '%s'",
                                    ins->name, k);
    }
    return 0;
}

/* ---- registration helpers ----------------------------------------------- */

void dev_lock(struct dev_ins *ins) { pthread_mutex_lock(&ins->lock); }
void dev_unlock(struct dev_ins *ins) { pthread_mutex_unlock(&ins->lock); }

int dev_map_ports(struct dev_ins *ins, uint16_t base, uint32_t count,
                  const struct iom_port_ops *ops, const char *name, struct ixvm_errinfo *err)
{
    if (ins->port_regs >= DEV_MAX_PORT_REGS)
        return ixvm_errinfo_set(err, IXVM_ERR_BUFFER_OVERFLOW, "device %s: too many port ranges",
                                ins->name);
    int rc = iom_map_ports_locked(ins->ctx.iom, base, count, ops, ins->state, name, &ins->lock);
    if (rc < 0)
        return ixvm_errinfo_set(err, rc, "device %s: cannot map I/O ports %#x-%#x: %s", ins->name,
                                base, base + count - 1, ixvm_strerror(rc));
    ins->port_base[ins->port_regs++] = base;
    return 0;
}

static int dev_mmio_read(void *dev, uint32_t off, unsigned size, uint64_t *val)
{
    struct dev_mmio_reg *m = dev;
    pthread_mutex_lock(&m->ins->lock);
    int rc = m->ops->read(m->ins->state, off, size, val);
    pthread_mutex_unlock(&m->ins->lock);
    return rc;
}

static int dev_mmio_write(void *dev, uint32_t off, uint64_t val, unsigned size)
{
    struct dev_mmio_reg *m = dev;
    pthread_mutex_lock(&m->ins->lock);
    int rc = m->ops->write(m->ins->state, off, val, size);
    pthread_mutex_unlock(&m->ins->lock);
    return rc;
}

int dev_map_mmio(struct dev_ins *ins, gphys_t base, uint64_t size, const struct pgm_mmio_ops *ops,
                 const char *name, struct ixvm_errinfo *err)
{
    if (!ins->ctx.pgm)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_STATE, "device %s: no memory map for MMIO",
                                ins->name);
    if (ins->mmio_regs >= DEV_MAX_MMIO_REGS)
        return ixvm_errinfo_set(err, IXVM_ERR_BUFFER_OVERFLOW, "device %s: too many MMIO ranges",
                                ins->name);
    /* The trampoline ops must outlive the mapping: allocated with m. */
    struct dev_mmio_reg *m = calloc(1, sizeof(*m) + sizeof(struct pgm_mmio_ops));
    if (!m)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "device %s: out of memory", ins->name);
    struct pgm_mmio_ops *tops = (struct pgm_mmio_ops *)(m + 1);
    tops->read = dev_mmio_read;
    tops->write = dev_mmio_write;
    tops->access_sizes = ops->access_sizes;
    m->ops = ops;
    m->ins = ins;
    m->base = base;
    int rc = pgm_map_mmio(ins->ctx.pgm, base, size, tops, m, name, err);
    if (rc < 0) {
        free(m);
        return rc;
    }
    ins->mmio[ins->mmio_regs++] = m;
    return 0;
}

int dev_timer_create(struct dev_ins *ins, tm_timer_fn *cb, const char *name,
                     struct tm_timer **out, struct ixvm_errinfo *err)
{
    if (ins->timer_count >= DEV_MAX_TIMERS)
        return ixvm_errinfo_set(err, IXVM_ERR_BUFFER_OVERFLOW, "device %s: too many timers", ins->name);
    char full[64];
    snprintf(full, sizeof(full), "%s/%s", ins->name, name ? name : "timer");
    int rc = tm_timer_create(ins->ctx.tm, cb, ins->state, &ins->lock, full, out);
    if (rc < 0)
        return ixvm_errinfo_set(err, rc, "device %s: cannot create timer '%s': %s", ins->name, full,
                                ixvm_strerror(rc));
    ins->timers[ins->timer_count++] = *out;
    return 0;
}

int dev_irq_connect(struct dev_ins *ins, unsigned idx, const struct irq_line *line)
{
    if (idx >= DEV_MAX_IRQ_OUT)
        return IXVM_ERR_INVALID_PARAMETER;
    pthread_mutex_lock(&ins->lock);
    if (line)
        ins->irq_out[idx] = *line;
    else
        memset(&ins->irq_out[idx], 0, sizeof(ins->irq_out[idx]));
    pthread_mutex_unlock(&ins->lock);
    return 0;
}

void dev_irq_set(struct dev_ins *ins, unsigned idx, int level)
{
    if (idx < DEV_MAX_IRQ_OUT)
        irq_set(&ins->irq_out[idx], level);
}

int dev_isa_irq_connect(struct dev_ins *ins, unsigned idx, unsigned irq)
{
    struct pdm *pdm = ins->pdm;
    if (!pdm || irq >= pdm->isa_count)
        return 0;   /* the board wires it */
    return dev_irq_connect(ins, idx, &pdm->isa[irq]);
}

/* ---- saved state and info wrappers -------------------------------------- */

static int pdm_ssm_save(void *user, struct ssm_handle *h)
{
    struct dev_ins *ins = user;
    pthread_mutex_lock(&ins->lock);
    int rc = ssm_put_fields(h, ins->reg->ssm_fields, ins->state);
    pthread_mutex_unlock(&ins->lock);
    return rc;
}

static int pdm_ssm_load(void *user, struct ssm_handle *h, uint32_t version)
{
    struct dev_ins *ins = user;
    pthread_mutex_lock(&ins->lock);
    int rc = ssm_get_fields(h, ins->reg->ssm_fields, ins->state);
    if (rc >= 0 && ins->reg->post_load)
        rc = ins->reg->post_load(ins->state, version);
    pthread_mutex_unlock(&ins->lock);
    return rc;
}

static void pdm_info(void *user, const struct ixvm_printer *pr, const char *args)
{
    struct dev_ins *ins = user;
    pthread_mutex_lock(&ins->lock);
    ins->reg->info(ins->state, pr, args);
    pthread_mutex_unlock(&ins->lock);
}

/* ---- the manager -------------------------------------------------------- */

int pdm_create(const struct dev_ctx *ctx, struct pdm **out, struct ixvm_errinfo *err)
{
    if (!ctx || !ctx->iom || !ctx->tm)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER,
                                "device manager: an I/O port table and a time manager are required");
    struct pdm *pdm = calloc(1, sizeof(*pdm));
    if (!pdm)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "device manager: out of memory");
    pdm->ctx = *ctx;
    *out = pdm;
    return 0;
}

const struct dev_ctx *pdm_ctx(const struct pdm *pdm) { return &pdm->ctx; }

void pdm_set_isa_irqs(struct pdm *pdm, const struct irq_line *lines, unsigned count)
{
    pdm->isa_count = count > 16 ? 16 : count;
    memcpy(pdm->isa, lines, pdm->isa_count * sizeof(*lines));
}

/* Undo everything the framework registered for ins and free it. */
static void pdm_instance_free(struct dev_ins *ins, bool call_destroy)
{
    if (ins->info_registered)
        dbgf_info_deregister(ins->ctx.dbgf, ins->name);
    if (ins->ssm_registered)
        ssm_deregister(ins->ctx.ssm, ins->reg->name, ins->instance);
    for (unsigned i = 0; i < ins->timer_count; i++)
        tm_timer_destroy(ins->timers[i]);
    for (unsigned i = 0; i < ins->port_regs; i++)
        if (iom_unmap_ports(ins->ctx.iom, ins->port_base[i]) < 0)
            LOG_REL("device %s: ports at %#x were already unmapped", ins->name, ins->port_base[i]);
    for (unsigned i = 0; i < ins->mmio_regs; i++) {
        if (pgm_unmap_mmio(ins->ctx.pgm, ins->mmio[i]->base) < 0)
            LOG_REL("device %s: MMIO at %#llx was already unmapped", ins->name,
                    (unsigned long long)ins->mmio[i]->base);
        free(ins->mmio[i]);
    }
    if (call_destroy && ins->reg->destroy)
        ins->reg->destroy(ins->state);
    pthread_mutex_destroy(&ins->lock);
    free(ins->state);
    free(ins);
}

static uint32_t pdm_count_of(struct pdm *pdm, const struct dev_reg *reg)
{
    uint32_t n = 0;
    for (struct dev_ins *i = pdm->first; i; i = i->next)
        n += !strcmp(i->reg->name, reg->name);
    return n;
}

/* Saved-state unit and info handler of a fresh instance. */
static int pdm_register_extras(struct dev_ins *ins, struct ixvm_errinfo *err)
{
    const struct dev_reg *reg = ins->reg;
    if (ins->ctx.ssm && reg->ssm_fields) {
        struct ssm_unit_desc d = {
            .name = reg->name, .instance = ins->instance, .version = reg->ssm_version,
            .min_version = reg->ssm_min_version ? reg->ssm_min_version : reg->ssm_version,
            .save = pdm_ssm_save, .load = pdm_ssm_load, .user = ins,
        };
        int rc = ssm_register(ins->ctx.ssm, &d);
        if (rc < 0)
            return ixvm_errinfo_set(err, rc, "device %s: cannot register saved-state unit: %s",
                                    ins->name, ixvm_strerror(rc));
        ins->ssm_registered = true;
    }
    if (ins->ctx.dbgf && reg->info) {
        int rc = dbgf_info_register(ins->ctx.dbgf, ins->name, reg->desc ? reg->desc : reg->name,
                                    pdm_info, ins);
        if (rc < 0)
            return ixvm_errinfo_set(err, rc, "device %s: cannot register info handler: %s",
                                    ins->name, ixvm_strerror(rc));
        ins->info_registered = true;
    }
    return 0;
}

int pdm_device_create(struct pdm *pdm, const struct dev_reg *reg, const struct dev_cfg *cfg,
                      struct dev_ins **out, struct ixvm_errinfo *err)
{
    if (!reg || !reg->name || !reg->init || !reg->state_size)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "device descriptor is incomplete");
    uint32_t inst = pdm_count_of(pdm, reg);
    if (reg->max_instances && inst >= reg->max_instances)
        return ixvm_errinfo_set(err, IXVM_ERR_ALREADY_EXISTS,
                                "device %s: at most %u instance(s) allowed", reg->name,
                                reg->max_instances);
    struct dev_ins *ins = calloc(1, sizeof(*ins));
    void *state = calloc(1, reg->state_size);
    pthread_mutexattr_t attr;
    if (!ins || !state) {
        free(ins);
        free(state);
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "device %s: out of memory", reg->name);
    }
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    int prc = pthread_mutex_init(&ins->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    if (prc) {
        free(ins);
        free(state);
        return ixvm_errinfo_set(err, IXVM_ERR_THREAD, "device %s: cannot create its lock", reg->name);
    }
    ins->reg = reg;
    ins->instance = inst;
    ins->state = state;
    ins->ctx = pdm->ctx;
    ins->pdm = pdm;
    if (inst)
        snprintf(ins->name, sizeof(ins->name), "%s%u", reg->name, inst);
    else
        snprintf(ins->name, sizeof(ins->name), "%s", reg->name);

    pthread_mutex_lock(&ins->lock);
    int rc = reg->init(ins, &ins->ctx, cfg, err);
    pthread_mutex_unlock(&ins->lock);
    if (rc >= 0)
        rc = pdm_register_extras(ins, err);
    if (rc < 0) {
        if (err && !err->msg[0])
            ixvm_errinfo_set(err, rc, "device %s: initialisation failed: %s", ins->name,
                             ixvm_strerror(rc));
        pdm_instance_free(ins, true);
        return rc;
    }
    if (pdm->last)
        pdm->last->next = ins;
    else
        pdm->first = ins;
    pdm->last = ins;
    LOG("created device %s", ins->name);
    if (out)
        *out = ins;
    return 0;
}

void pdm_reset(struct pdm *pdm)
{
    for (struct dev_ins *i = pdm->first; i; i = i->next) {
        if (!i->reg->reset)
            continue;
        pthread_mutex_lock(&i->lock);
        i->reg->reset(i->state);
        pthread_mutex_unlock(&i->lock);
    }
}

struct dev_ins *pdm_find(struct pdm *pdm, const char *name, uint32_t instance)
{
    for (struct dev_ins *i = pdm->first; i; i = i->next)
        if (!strcmp(i->reg->name, name) && i->instance == instance)
            return i;
    return NULL;
}

void pdm_destroy(struct pdm *pdm)
{
    if (!pdm)
        return;
    /* Reverse creation order: later devices may depend on earlier ones
     * (a UART's wire into the PIC). */
    while (pdm->first) {
        struct dev_ins *prev = NULL, *i = pdm->first;
        while (i->next) {
            prev = i;
            i = i->next;
        }
        if (prev)
            prev->next = NULL;
        else
            pdm->first = NULL;
        pdm_instance_free(i, true);
    }
    free(pdm);
}
