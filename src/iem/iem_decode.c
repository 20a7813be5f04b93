/* SPDX-License-Identifier: MIT */
/*
 * The decoder: x86 bytes -> 32-byte records (IEM-DESIGN.md 2), driven only
 * by opcodes.def (rows) and forms.def (operand forms).  Prefixes, ModRM/SIB
 * with 16- and 32-bit addressing (SDM Vol. 2 2.1, tables 2-1/2-2/2-3),
 * immediates, relative branch targets made absolute.  Invalid encodings
 * become records whose handler raises #UD (or #GP for > 15 bytes), so the
 * fault happens when (and only if) the instruction executes.
 */
#define LOG_GROUP LOG_GROUP_IEM
#include <pthread.h>

#include "iem/iem_internal.h"
#include "ixvm/log.h"

enum iem_imm { IEM_I_NONE, IEM_I_B, IEM_I_BS, IEM_I_W, IEM_I_Z, IEM_I_JB, IEM_I_JZ, IEM_I_A, IEM_I_P, IEM_I_WB };
enum iem_wk { IEM_WK_N, IEM_WK_B, IEM_WK_W, IEM_WK_D, IEM_WK_V };
enum iem_kind { IEM_K_NONE, IEM_K_E, IEM_K_M, IEM_K_EG, IEM_K_GE, IEM_K_GM, IEM_K_EG_R, IEM_K_GE_R,
                IEM_K_EI, IEM_K_AI, IEM_K_Z, IEM_K_ZI, IEM_K_I, IEM_K_AO, IEM_K_OA };

enum iem_form_id {
#define IEM_FORM(name, modrm, imm, w, gb, eb, kind) IEM_FORM_##name,
#include "iem/forms.def"
#undef IEM_FORM
    IEM_FORM_COUNT
};
struct iem_form { uint8_t modrm, imm, w, gb, eb, kind; };
static const struct iem_form iem_forms[IEM_FORM_COUNT] = {
#define IEM_FORM(name, modrm, imm, w, gb, eb, kind) { modrm, imm, w, gb, eb, kind },
#include "iem/forms.def"
#undef IEM_FORM
};

/* Handler sets named by the table. */
#define IEM_NOEXT (-1)
#define IEM_OP(map, opc, ext, mnem, form, hset, fr, fw, attrs) extern const struct iem_hset iem_hs_##hset;
#include "iem/opcodes.def"
#undef IEM_OP

struct iem_oprow {
    uint8_t map, opc;
    int8_t ext;
    uint8_t form;
    uint16_t fr, fw;
    uint8_t attrs;
    const char *mnem;
    const struct iem_hset *hs;
};
static const struct iem_oprow iem_rows[] = {
#define IEM_OP(map, opc, ext, mnem, form, hset, fr, fw, attrs) \
    { map, opc, ext, IEM_FORM_##form, fr, fw, attrs, #mnem, &iem_hs_##hset },
#include "iem/opcodes.def"
#undef IEM_OP
};

/* [map-1][opcode][ModRM.reg] -> row (NULL: undefined -> #UD). */
static const struct iem_oprow *iem_optab[2][256][8];
static uint8_t iem_has_modrm[2][256];
static pthread_once_t iem_decode_once = PTHREAD_ONCE_INIT;

static void iem_decode_build(void)
{
    for (size_t k = 0; k < IXVM_ARRAY_SIZE(iem_rows); k++) {
        const struct iem_oprow *r = &iem_rows[k];
        unsigned m = r->map - 1u;
        if (iem_forms[r->form].modrm)
            iem_has_modrm[m][r->opc] = 1;
        for (int e = 0; e < 8; e++)
            if (r->ext == IEM_NOEXT || r->ext == e) {
                if (iem_optab[m][r->opc][e])
                    LOG_REL("opcodes.def: duplicate row for %s %02x /%d", r->mnem, r->opc, e);
                iem_optab[m][r->opc][e] = r;
            }
    }
}

void iem_decode_init(void) { pthread_once(&iem_decode_once, iem_decode_build); }

const char *iem_mnemonic(unsigned map, unsigned opc, unsigned ext)
{
    iem_decode_init();
    if (map < 1 || map > 2 || opc > 255 || ext > 7 || !iem_optab[map - 1][opc][ext])
        return NULL;
    return iem_optab[map - 1][opc][ext]->mnem;
}

/* 16-bit ModRM bases (SDM Vol. 2 Table 2-1). */
static const uint8_t iem_m16_base[8] = { CPUM_EBX, CPUM_EBX, CPUM_EBP, CPUM_EBP,
                                         CPUM_ESI, CPUM_EDI, CPUM_EBP, CPUM_EBX };
static const uint8_t iem_m16_index[8] = { CPUM_ESI, CPUM_EDI, CPUM_ESI, CPUM_EDI,
                                          CPUM_GPR_ZERO, CPUM_GPR_ZERO, CPUM_GPR_ZERO, CPUM_GPR_ZERO };

static inline uint32_t iem_get(const uint8_t *p, unsigned n)
{
    uint32_t v = 0;
    memcpy(&v, p, n);
    return v;
}

/* Near control transfers (Jcc, JMP/CALL rel and FF /2 /4, RET near, LOOPcc,
 * JCXZ): they change only EIP (and ESP), so the block they end may be
 * linked to its successor (iem_exec.c). map: 0 one-byte, 1 the 0F map. */
static bool iem_dec_near_branch(unsigned map, unsigned opc, unsigned reg)
{
    if (map == 1)
        return opc >= 0x80 && opc <= 0x8f;
    return (opc >= 0x70 && opc <= 0x7f) || (opc >= 0xe0 && opc <= 0xe3) || opc == 0xe8 || opc == 0xe9 ||
           opc == 0xeb || opc == 0xc2 || opc == 0xc3 || (opc == 0xff && (reg == 2 || reg == 4));
}

static void iem_dec_fault(struct iem_ix *ix, iem_fn fn, unsigned len)
{
    ix->fn = fn;
    ix->len = (uint8_t)(len ? len : 1);
    ix->lflags = IEM_LF_FAULT | IEM_LF_END;
}

int iem_decode_one(const struct iem_decode_in *in, struct iem_ix *ix, bool *ends)
{
    const uint8_t *p = in->p;
    unsigned avail = in->avail, n = 0;
    bool osz = in->d32, asz = in->d32;
    int seg = -1;
    uint8_t lf = 0;
    unsigned b;

    memset(ix, 0, sizeof(*ix));
    ix->eip_off = in->eip_off;
    ix->base = ix->index = CPUM_GPR_ZERO;
    *ends = true;

#define NEED(k)                                          \
    do {                                                 \
        if (n + (k) > 15) {                              \
            iem_dec_fault(ix, ix_raise_gp0, 15);         \
            return IEM_DEC_OK;                           \
        }                                                \
        if (n + (k) > avail)                             \
            return IEM_DEC_MORE;                         \
    } while (0)

    /* Prefixes (SDM Vol. 2 2.1.1); the last segment override wins. */
    for (;;) {
        NEED(1);
        b = p[n];
        if (b == 0x66) osz = !in->d32;
        else if (b == 0x67) asz = !in->d32;
        else if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e) seg = (b >> 3) & 3;
        else if (b == 0x64 || b == 0x65) seg = b - 0x64 + CPUM_FS;
        else if (b == 0xf0) lf |= IEM_LF_LOCK;
        else if (b == 0xf2) lf = (uint8_t)((lf & ~IEM_LF_REP) | IEM_LF_REPNE);
        else if (b == 0xf3) lf = (uint8_t)((lf & ~IEM_LF_REPNE) | IEM_LF_REP);
        else break;
        n++;
    }
    unsigned map = 0;
    n++;
    if (b == 0x0f) {
        NEED(1);
        map = 1;
        b = p[n++];
    }
    ix->op = (uint8_t)b;

    unsigned mod = 3, reg = 0, rm = 0;
    bool modrm = iem_has_modrm[map][b];
    if (modrm) {
        NEED(1);
        unsigned m = p[n++];
        mod = m >> 6;
        reg = (m >> 3) & 7;
        rm = m & 7;
    }
    const struct iem_oprow *row = iem_optab[map][b][reg];
    if (!row || (!modrm && iem_forms[row->form].modrm)) {
        iem_dec_fault(ix, ix_raise_ud, n);
        return IEM_DEC_OK;
    }
    const struct iem_form *f = &iem_forms[row->form];
    unsigned dseg = CPUM_DS;
    bool mem = false;

    /* ModRM memory operand (SDM Vol. 2 Tables 2-1..2-3). */
    if (modrm && mod != 3 && f->kind != IEM_K_EG_R && f->kind != IEM_K_GE_R) {
        mem = true;
        if (asz) {
            unsigned base = rm, index = CPUM_GPR_ZERO, scale = 0;
            if (rm == 4) {
                NEED(1);
                unsigned sib = p[n++];
                scale = sib >> 6;
                index = (sib >> 3) & 7;
                if (index == 4)
                    index = CPUM_GPR_ZERO;
                base = sib & 7;
                if (base == 5 && mod == 0) {
                    NEED(4);
                    base = CPUM_GPR_ZERO;
                    ix->disp = iem_get(p + n, 4);
                    n += 4;
                }
            } else if (rm == 5 && mod == 0) {
                NEED(4);
                base = CPUM_GPR_ZERO;
                ix->disp = iem_get(p + n, 4);
                n += 4;
            }
            if (base == CPUM_ESP || base == CPUM_EBP)
                dseg = CPUM_SS;
            ix->base = (uint8_t)base;
            ix->index = (uint8_t)index;
            ix->sc_seg_asz = (uint8_t)scale;
        } else {
            if (mod == 0 && rm == 6) {
                NEED(2);
                ix->disp = iem_get(p + n, 2);
                n += 2;
            } else {
                ix->base = iem_m16_base[rm];
                ix->index = iem_m16_index[rm];
                if (rm == 2 || rm == 3 || rm == 6)
                    dseg = CPUM_SS;
            }
        }
        if (mod == 1) {
            NEED(1);
            ix->disp += (uint32_t)(int32_t)(int8_t)p[n];
            n += 1;
        } else if (mod == 2) {
            unsigned k = asz ? 4 : 2;
            NEED(k);
            ix->disp += k == 4 ? iem_get(p + n, 4) : (uint32_t)(int32_t)(int16_t)iem_get(p + n, 2);
            n += k;
        }
    }

    /* Immediates. */
    unsigned zs = osz ? 4 : 2;
    switch (f->imm) {
    case IEM_I_B:  NEED(1); ix->imm = p[n]; n += 1; break;
    case IEM_I_BS: NEED(1); ix->imm = (uint32_t)(int32_t)(int8_t)p[n]; n += 1; break;
    case IEM_I_W:  NEED(2); ix->imm = iem_get(p + n, 2); n += 2; break;
    case IEM_I_Z:  NEED(zs); ix->imm = iem_get(p + n, zs); n += zs; break;
    case IEM_I_WB: NEED(3); ix->aux = (uint16_t)iem_get(p + n, 2); ix->imm = p[n + 2]; n += 3; break;
    case IEM_I_P:  NEED(zs + 2);
        ix->imm = iem_get(p + n, zs) | (uint64_t)iem_get(p + n + zs, 2) << 32;
        n += zs + 2;
        break;
    case IEM_I_A: {
        unsigned k = asz ? 4 : 2;
        NEED(k);
        ix->disp = iem_get(p + n, k);
        n += k;
        mem = true;
        break;
    }
    case IEM_I_JB:
    case IEM_I_JZ: {
        unsigned k = f->imm == IEM_I_JB ? 1 : zs;
        NEED(k);
        int32_t rel = k == 1 ? (int8_t)p[n] : k == 2 ? (int16_t)iem_get(p + n, 2) : (int32_t)iem_get(p + n, 4);
        n += k;
        uint32_t t = in->eip + n + (uint32_t)rel;
        ix->imm = osz ? t : (t & 0xffffu);
        break;
    }
    default: break;
    }
#undef NEED

    ix->len = (uint8_t)n;
    if (seg >= 0) {
        dseg = (unsigned)seg;
        lf |= IEM_LF_SEGOVR;
    }
    ix->sc_seg_asz |= (uint8_t)(dseg << IEM_SEG_SHIFT | (asz ? IEM_ASZ32 : 0) | (osz ? IEM_OSZ32 : 0));

    /* Operands and shape. */
    unsigned shape = IEM_S_NONE, r0 = 0, r1 = 0;
    switch (f->kind) {
    case IEM_K_NONE: case IEM_K_I: shape = IEM_S_NONE; break;
    case IEM_K_E:    shape = mem ? IEM_S_M : IEM_S_R; r0 = f->eb ? IEM_R8(rm) : rm; break;
    case IEM_K_M:    shape = mem ? IEM_S_M : IEM_S_COUNT; break;
    case IEM_K_EG:
        shape = mem ? IEM_S_MR : IEM_S_RR;
        r0 = mem ? (f->gb ? IEM_R8(reg) : reg) : (f->eb ? IEM_R8(rm) : rm);
        r1 = f->gb ? IEM_R8(reg) : reg;
        break;
    case IEM_K_GE:
        shape = mem ? IEM_S_RM : IEM_S_RR;
        r0 = f->gb ? IEM_R8(reg) : reg;
        r1 = f->eb ? IEM_R8(rm) : rm;
        break;
    case IEM_K_GM:   shape = mem ? IEM_S_RM : IEM_S_COUNT; r0 = reg; break;
    case IEM_K_EG_R: shape = IEM_S_RR; r0 = rm; r1 = reg; break;
    case IEM_K_GE_R: shape = IEM_S_RR; r0 = reg; r1 = rm; break;
    case IEM_K_EI:   shape = mem ? IEM_S_MI : IEM_S_RI; r0 = f->eb ? IEM_R8(rm) : rm; break;
    case IEM_K_AI:   shape = IEM_S_RI; r0 = 0; break;
    case IEM_K_Z:    shape = IEM_S_R; r0 = b & 7; break;
    case IEM_K_ZI:   shape = IEM_S_RI; r0 = f->eb ? IEM_R8(b & 7) : (b & 7); break;
    case IEM_K_AO:   shape = IEM_S_RM; r0 = 0; break;
    case IEM_K_OA:   shape = IEM_S_MR; r0 = 0; break;
    }
    ix->r0 = (uint8_t)r0;
    ix->r1 = (uint8_t)r1;
    if (f->kind == IEM_K_E || f->kind == IEM_K_EI || f->kind == IEM_K_EG || f->kind == IEM_K_GE ||
        f->kind == IEM_K_M || f->kind == IEM_K_GM) {
        /* keep rm/reg available to group handlers through aux when unused */
        if (!(f->imm == IEM_I_WB))
            ix->aux = (uint16_t)(reg | rm << 3 | mod << 6);
    }

    if (lf & IEM_LF_LOCK) {
        if (!(row->attrs & IEM_A_LOCK) || !mem) {
            iem_dec_fault(ix, ix_raise_ud, n);
            return IEM_DEC_OK;
        }
        shape = shape == IEM_S_M ? IEM_S_ML : shape == IEM_S_MR ? IEM_S_MRL : shape == IEM_S_MI ? IEM_S_MIL : IEM_S_COUNT;
    }
    if ((row->attrs & IEM_A_PM) && (!in->pe || in->v86)) {
        iem_dec_fault(ix, ix_raise_ud, n);
        return IEM_DEC_OK;
    }
    unsigned w;
    switch (f->w) {
    case IEM_WK_B: w = IEM_W8; break;
    case IEM_WK_W: w = IEM_W16; break;
    case IEM_WK_D: w = IEM_W32; break;
    default:       w = osz ? IEM_W32 : IEM_W16; break;
    }
    iem_fn fn = shape < IEM_S_COUNT ? row->hs->f[shape][w] : NULL;
    if (!fn) {
        iem_dec_fault(ix, ix_raise_ud, n);
        return IEM_DEC_OK;
    }
    ix->fn = fn;
    ix->lflags = (uint8_t)(lf | ((row->attrs & (IEM_A_FAULT | IEM_A_LOCK)) || mem ? IEM_LF_FAULT : 0));
    *ends = (row->attrs & (IEM_A_END | IEM_A_BR)) != 0;
    if (*ends)
        ix->lflags |= IEM_LF_END;
    if ((row->attrs & (IEM_A_END | IEM_A_BR)) == IEM_A_BR && iem_dec_near_branch(map, b, reg))
        ix->lflags |= IEM_LF_NEAR;
    return IEM_DEC_OK;
}
