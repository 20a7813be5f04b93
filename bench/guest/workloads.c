/* SPDX-License-Identifier: MIT */
/*
 * Benchmark workloads: sieve of Eratosthenes, table-driven CRC-32,
 * quicksort, integer matrix multiply, linked lists, string hashing with a
 * chained hash table, and a small bytecode VM.  Integer only, no library
 * calls, no pointer values in any checksum, unsigned arithmetic only (no
 * undefined behaviour), so the 32-bit guest build and the host build agree.
 * The data are made by a fixed LCG; each round perturbs its input so no
 * round can be skipped by a compiler.
 */
#include "workloads.h"

static uint32_t wl_lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s;
}

static uint32_t wl_mix(uint32_t h, uint32_t v)
{
    h ^= v;
    h *= 0x01000193u;
    return h ^ (h >> 15);
}

/* ---- sieve ---- */
#define SIEVE_N 16384u
static uint8_t wl_sieve_buf[SIEVE_N];

static uint32_t wl_sieve(uint32_t rounds)
{
    uint32_t h = 0x811c9dc5u;
    for (uint32_t r = 0; r < rounds; r++) {
        uint32_t n = SIEVE_N - (r & 255u);
        for (uint32_t k = 0; k < n; k++)
            wl_sieve_buf[k] = 1;
        wl_sieve_buf[0] = wl_sieve_buf[1] = 0;
        for (uint32_t p = 2; p * p < n; p++)
            if (wl_sieve_buf[p])
                for (uint32_t m = p * p; m < n; m += p)
                    wl_sieve_buf[m] = 0;
        uint32_t count = 0, sum = 0;
        for (uint32_t k = 0; k < n; k++)
            if (wl_sieve_buf[k]) {
                count++;
                sum += k;
            }
        h = wl_mix(h, count);
        h = wl_mix(h, sum);
    }
    return h;
}

/* ---- CRC-32 (IEEE 802.3, reflected, table-driven) ---- */
#define CRC_LEN 4096u
static uint32_t wl_crc_table[256];
static uint8_t wl_crc_buf[CRC_LEN];

static void wl_crc_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        wl_crc_table[n] = c;
    }
}

static uint32_t wl_crc32(uint32_t rounds)
{
    uint32_t s = 12345u, h = 0;
    wl_crc_init();
    for (uint32_t k = 0; k < CRC_LEN; k++)
        wl_crc_buf[k] = (uint8_t)(wl_lcg(&s) >> 24);
    for (uint32_t r = 0; r < rounds; r++) {
        wl_crc_buf[r % CRC_LEN] ^= (uint8_t)r;
        uint32_t c = 0xffffffffu;
        for (uint32_t k = 0; k < CRC_LEN; k++)
            c = wl_crc_table[(c ^ wl_crc_buf[k]) & 0xffu] ^ (c >> 8);
        h = wl_mix(h, ~c);
    }
    return h;
}

/* ---- quicksort ---- */
#define QS_N 2048u
static uint32_t wl_qs_buf[QS_N];

static void wl_qsort(uint32_t *a, int lo, int hi)
{
    while (lo < hi) {
        uint32_t pivot = a[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                uint32_t t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        /* Recurse into the smaller half, loop on the larger. */
        if (j - lo < hi - i) {
            wl_qsort(a, lo, j);
            lo = i;
        } else {
            wl_qsort(a, i, hi);
            hi = j;
        }
    }
}

static uint32_t wl_quicksort(uint32_t rounds)
{
    uint32_t s = 777u, h = 0;
    for (uint32_t r = 0; r < rounds; r++) {
        for (uint32_t k = 0; k < QS_N; k++)
            wl_qs_buf[k] = wl_lcg(&s) >> (r & 7u);
        wl_qsort(wl_qs_buf, 0, (int)QS_N - 1);
        uint32_t sum = 0;
        for (uint32_t k = 0; k < QS_N; k++)
            sum = sum * 31u + wl_qs_buf[k];
        for (uint32_t k = 1; k < QS_N; k++)
            if (wl_qs_buf[k - 1] > wl_qs_buf[k])
                sum ^= 0xdeadbeefu;   /* never: the sort is checked */
        h = wl_mix(h, sum);
    }
    return h;
}

/* ---- matrix multiply ---- */
#define MM_N 32u
static uint32_t wl_ma[MM_N][MM_N], wl_mb[MM_N][MM_N], wl_mc[MM_N][MM_N];

static uint32_t wl_matmul(uint32_t rounds)
{
    uint32_t s = 4242u, h = 0;
    for (uint32_t i = 0; i < MM_N; i++)
        for (uint32_t j = 0; j < MM_N; j++) {
            wl_ma[i][j] = wl_lcg(&s) >> 20;
            wl_mb[i][j] = wl_lcg(&s) >> 20;
        }
    for (uint32_t r = 0; r < rounds; r++) {
        wl_ma[r % MM_N][(r / MM_N) % MM_N] += r;
        for (uint32_t i = 0; i < MM_N; i++)
            for (uint32_t j = 0; j < MM_N; j++) {
                uint32_t acc = 0;
                for (uint32_t k = 0; k < MM_N; k++)
                    acc += wl_ma[i][k] * wl_mb[k][j];
                wl_mc[i][j] = acc;
            }
        uint32_t sum = 0;
        for (uint32_t i = 0; i < MM_N; i++)
            for (uint32_t j = 0; j < MM_N; j++)
                sum = sum * 3u + wl_mc[i][j];
        h = wl_mix(h, sum);
    }
    return h;
}

/* ---- linked lists (nodes from a pool; links are indices-free pointers) ---- */
#define LL_N 1024u
struct wl_node {
    struct wl_node *next;
    uint32_t key;
};
static struct wl_node wl_pool[LL_N];

static struct wl_node *wl_ll_reverse(struct wl_node *n)
{
    struct wl_node *prev = 0;
    while (n) {
        struct wl_node *nx = n->next;
        n->next = prev;
        prev = n;
        n = nx;
    }
    return prev;
}

static uint32_t wl_lists(uint32_t rounds)
{
    uint32_t s = 99u, h = 0;
    for (uint32_t r = 0; r < rounds; r++) {
        /* Build a sorted list by insertion of the first 256 nodes, then push the rest. */
        struct wl_node *head = 0;
        for (uint32_t k = 0; k < LL_N; k++) {
            struct wl_node *n = &wl_pool[k];
            n->key = wl_lcg(&s) >> 16;
            if (k < 256u) {
                struct wl_node **pp = &head;
                while (*pp && (*pp)->key < n->key)
                    pp = &(*pp)->next;
                n->next = *pp;
                *pp = n;
            } else {
                n->next = head;
                head = n;
            }
        }
        head = wl_ll_reverse(head);
        /* Remove every node whose key is divisible by 3. */
        struct wl_node **pp = &head;
        while (*pp) {
            if ((*pp)->key % 3u == 0)
                *pp = (*pp)->next;
            else
                pp = &(*pp)->next;
        }
        uint32_t sum = 0, len = 0;
        for (struct wl_node *n = head; n; n = n->next) {
            sum = sum * 7u + n->key;
            len++;
        }
        h = wl_mix(h, sum);
        h = wl_mix(h, len);
    }
    return h;
}

/* ---- string hashing + chained hash table ---- */
#define HS_WORDS 512u
#define HS_BUCKETS 256u
static char wl_words[HS_WORDS][16];
static uint16_t wl_hs_head[HS_BUCKETS], wl_hs_next[HS_WORDS + 1];

static uint32_t wl_fnv1a(const char *p)
{
    uint32_t h = 0x811c9dc5u;
    while (*p)
        h = (h ^ (uint8_t)*p++) * 0x01000193u;
    return h;
}

static uint32_t wl_djb2(const char *p)
{
    uint32_t h = 5381u;
    while (*p)
        h = h * 33u + (uint8_t)*p++;
    return h;
}

static int wl_streq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static uint32_t wl_strhash(uint32_t rounds)
{
    uint32_t s = 31337u, h = 0;
    for (uint32_t r = 0; r < rounds; r++) {
        for (uint32_t w = 0; w < HS_WORDS; w++) {
            uint32_t len = 3u + (wl_lcg(&s) >> 29) + (w & 3u);
            for (uint32_t k = 0; k < len; k++)
                wl_words[w][k] = (char)('a' + (wl_lcg(&s) >> 28));
            wl_words[w][len] = 0;
        }
        for (uint32_t b = 0; b < HS_BUCKETS; b++)
            wl_hs_head[b] = 0;
        uint32_t dups = 0;
        for (uint32_t w = 0; w < HS_WORDS; w++) {
            uint32_t b = wl_fnv1a(wl_words[w]) & (HS_BUCKETS - 1u);
            uint32_t e = wl_hs_head[b];
            while (e && !wl_streq(wl_words[e - 1], wl_words[w]))
                e = wl_hs_next[e];
            if (e) {
                dups++;
                continue;
            }
            wl_hs_next[w + 1] = wl_hs_head[b];
            wl_hs_head[b] = (uint16_t)(w + 1);
        }
        uint32_t acc = dups;
        for (uint32_t w = 0; w < HS_WORDS; w++)
            acc = wl_mix(acc, wl_djb2(wl_words[w]));
        for (uint32_t b = 0; b < HS_BUCKETS; b++) {
            uint32_t chain = 0;
            for (uint32_t e = wl_hs_head[b]; e; e = wl_hs_next[e])
                chain++;
            acc = acc * 5u + chain;
        }
        h = wl_mix(h, acc);
    }
    return h;
}

/* ---- bytecode VM: a stack machine with a switch dispatch ---- */
enum { VM_PUSH, VM_LOAD, VM_STORE, VM_ADD, VM_SUB, VM_MUL, VM_XOR, VM_SHR, VM_JNZ, VM_DUP, VM_DROP,
       VM_HALT };
/* r0 = n; r1 = a = 0; r2 = b = 1; r3 = acc;
 * loop: t = a + b; a = b; b = t; acc = (acc ^ t) * 3 + (acc >> 5); n -= 1; jnz loop */
static const uint8_t wl_vm_prog[] = {
    VM_LOAD, 1, VM_LOAD, 2, VM_ADD, VM_DUP,          /* 0: t t */
    VM_LOAD, 2, VM_STORE, 1, VM_STORE, 2,            /* 6: t */
    VM_LOAD, 3, VM_XOR, VM_PUSH, 3, VM_MUL,          /* 12: (acc^t)*3 */
    VM_LOAD, 3, VM_PUSH, 5, VM_SHR, VM_ADD, VM_STORE, 3,   /* 18 */
    VM_LOAD, 0, VM_PUSH, 1, VM_SUB, VM_DUP, VM_STORE, 0,   /* 26: n-1 */
    VM_JNZ, 0, VM_HALT,                                    /* 34 */
};

static uint32_t wl_vm_run(uint32_t n, uint32_t seed)
{
    uint32_t stack[16], reg[4] = { n, seed, 1u, seed ^ 0x5a5a5a5au };
    unsigned sp = 0, pc = 0;
    for (;;) {
        uint8_t op = wl_vm_prog[pc++];
        switch (op) {
        case VM_PUSH:  stack[sp++] = wl_vm_prog[pc++]; break;
        case VM_LOAD:  stack[sp++] = reg[wl_vm_prog[pc++] & 3u]; break;
        case VM_STORE: reg[wl_vm_prog[pc++] & 3u] = stack[--sp]; break;
        case VM_ADD:   sp--; stack[sp - 1] += stack[sp]; break;
        case VM_SUB:   sp--; stack[sp - 1] -= stack[sp]; break;
        case VM_MUL:   sp--; stack[sp - 1] *= stack[sp]; break;
        case VM_XOR:   sp--; stack[sp - 1] ^= stack[sp]; break;
        case VM_SHR:   sp--; stack[sp - 1] >>= stack[sp] & 31u; break;
        case VM_JNZ: {
            uint8_t t = wl_vm_prog[pc++];
            if (stack[--sp])
                pc = t;
            break;
        }
        case VM_DUP:   stack[sp] = stack[sp - 1]; sp++; break;
        case VM_DROP:  sp--; break;
        default:       return reg[3] ^ reg[2];
        }
        sp &= 15u;
    }
}

static uint32_t wl_bytecode(uint32_t rounds)
{
    uint32_t h = 0;
    for (uint32_t r = 0; r < rounds; r++)
        h = wl_mix(h, wl_vm_run(200u, r));
    return h;
}

const struct wl_desc wl_table[] = {
    { "sieve", wl_sieve, 6 },
    { "crc32", wl_crc32, 32 },
    { "qsort", wl_quicksort, 6 },
    { "matmul", wl_matmul, 8 },
    { "lists", wl_lists, 8 },
    { "strhash", wl_strhash, 8 },
    { "bytecode", wl_bytecode, 16 },
};
const unsigned wl_count = sizeof(wl_table) / sizeof(wl_table[0]);
