/* HMAC-SHA256 of many 16-digit NIKs at once, for the loader's judge (cakupan.ingest.nik_hmac).

   Exactly what Pseudonymiser.pseudonym computes, only cheaper: the key's inner and outer pad blocks are
   hashed once (their "midstates"), so each NIK costs two SHA-256 blocks instead of four, and on a CPU with
   the SHA extensions each block is hashed by those instructions. No Python object is touched while the
   NIKs are hashed, so the GIL is let go and the judge's parts hash side by side. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_X86_SHA 1
#endif

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t H0[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

/* FIPS 180-4, section 6.2.2: one 64-byte block into the state. */
static void block_portable(uint32_t state[8], const uint8_t block[64]) {
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)block[4 * t] << 24 | (uint32_t)block[4 * t + 1] << 16 | (uint32_t)block[4 * t + 2] << 8
               | (uint32_t)block[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = ROTR(w[t - 15], 7) ^ ROTR(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = ROTR(w[t - 2], 17) ^ ROTR(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
        uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

#ifdef HAVE_X86_SHA
/* The same block with the SHA extensions (Intel's SHA-NI): four rounds per pair of sha256rnds2. */
__attribute__((target("sha,sse4.1,ssse3")))
static void block_sha_ni(uint32_t state[8], const uint8_t block[64]) {
    const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[0]), 0xB1);  /* CDAB */
    __m128i state1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[4]), 0x1B);  /* EFGH */
    __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);  /* ABEF */
    state1 = _mm_blend_epi16(state1, tmp, 0xF0);  /* CDGH */
    const __m128i abef = state0, cdgh = state1;
    __m128i w[16];
    for (int i = 0; i < 16; i++) {
        if (i < 4)
            w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 16 * i)), byte_swap);
        else
            w[i] = _mm_sha256msg2_epu32(
                _mm_add_epi32(_mm_sha256msg1_epu32(w[i - 4], w[i - 3]), _mm_alignr_epi8(w[i - 1], w[i - 2], 4)),
                w[i - 1]);
        __m128i msg = _mm_add_epi32(w[i], _mm_loadu_si128((const __m128i *)&K[4 * i]));
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
        state0 = _mm_sha256rnds2_epu32(state0, state1, _mm_shuffle_epi32(msg, 0x0E));
    }
    state0 = _mm_add_epi32(state0, abef);
    state1 = _mm_add_epi32(state1, cdgh);
    tmp = _mm_shuffle_epi32(state0, 0x1B);  /* FEBA */
    state1 = _mm_shuffle_epi32(state1, 0xB1);  /* DCHG */
    _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(tmp, state1, 0xF0));  /* DCBA */
    _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(state1, tmp, 8));  /* HGFE */
}

static int cpu_has_sha(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_SSE4_1) || !(ecx & bit_SSSE3))
        return 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
        return 0;
    return (ebx >> 29) & 1;  /* CPUID.(EAX=7,ECX=0):EBX.SHA[bit 29] */
}
#endif

typedef void (*block_fn)(uint32_t state[8], const uint8_t block[64]);
static block_fn hash_block = block_portable;

static void put_be32(uint8_t *out, uint32_t v) {
    out[0] = (uint8_t)(v >> 24); out[1] = (uint8_t)(v >> 16); out[2] = (uint8_t)(v >> 8); out[3] = (uint8_t)v;
}

/* The final state of a message of one pad block (its state `midstate`) and `tail` bytes, which are at the
   start of `block`: FIPS 180-4's padding (0x80, zeros, the length in bits) fills the rest. */
static void last_block(uint32_t state[8], const void *midstate, uint8_t block[64], int tail) {
    memset(block + tail, 0, 64 - tail);
    block[tail] = 0x80;
    put_be32(block + 60, (uint32_t)(64 + tail) * 8);
    memcpy(state, midstate, 32);
    hash_block(state, block);
}

/* The state after the key's 64-byte pad block: HMAC's inner or outer hash, before the message. */
static PyObject *midstate(PyObject *self, PyObject *args) {
    Py_buffer pad;
    if (!PyArg_ParseTuple(args, "y*", &pad))
        return NULL;
    if (pad.len != 64) {
        PyBuffer_Release(&pad);
        PyErr_SetString(PyExc_ValueError, "an HMAC-SHA256 pad is 64 bytes");
        return NULL;
    }
    uint32_t state[8];
    memcpy(state, H0, sizeof state);
    hash_block(state, pad.buf);
    PyBuffer_Release(&pad);
    return PyBytes_FromStringAndSize((const char *)state, sizeof state);
}

/* hex_digests(inner, outer, values, offsets, count): the HMAC of each of `count` 16-byte values, as 64
   lower-case hex characters each, end to end. The i-th value is values[offsets[i]:offsets[i]+16] (Arrow's
   string layout, int32 offsets); a value of any other length (a NULL's) is skipped and its 64 characters
   written as zeros, never read past: nik_hmac checks that every other value is 16 digits. */
static PyObject *hex_digests(PyObject *self, PyObject *args) {
    Py_buffer inner, outer, values, offsets;
    Py_ssize_t count;
    if (!PyArg_ParseTuple(args, "y*y*y*y*n", &inner, &outer, &values, &offsets, &count))
        return NULL;
    PyObject *result = NULL;
    if (inner.len != 32 || outer.len != 32 || count < 0 || offsets.len < (count + 1) * (Py_ssize_t)sizeof(int32_t)) {
        PyErr_SetString(PyExc_ValueError, "hex_digests: midstates of 32 bytes and count + 1 int32 offsets");
        goto done;
    }
    PyObject *digests = PyBytes_FromStringAndSize(NULL, count * 64);
    if (digests == NULL)
        goto done;
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(digests);
    const uint8_t *data = values.buf;
    const int32_t *at = offsets.buf;
    const Py_ssize_t data_len = values.len;
    static const char hex[] = "0123456789abcdef";
    Py_BEGIN_ALLOW_THREADS
    uint8_t block[64];
    uint32_t state[8];
    for (Py_ssize_t i = 0; i < count; i++) {
        uint8_t *digest = out + 64 * i;
        int32_t start = at[i], end = at[i + 1];
        if (end - start != 16 || start < 0 || end > data_len) {
            memset(digest, '0', 64);
            continue;
        }
        memcpy(block, data + start, 16);
        last_block(state, inner.buf, block, 16);  /* SHA256(ipad || nik) */
        for (int j = 0; j < 8; j++)
            put_be32(block + 4 * j, state[j]);
        last_block(state, outer.buf, block, 32);  /* SHA256(opad || inner digest) */
        for (int j = 0; j < 8; j++)
            for (int k = 0; k < 8; k++)
                digest[8 * j + k] = hex[(state[j] >> (28 - 4 * k)) & 0xF];
    }
    Py_END_ALLOW_THREADS
    result = digests;
done:
    PyBuffer_Release(&inner);
    PyBuffer_Release(&outer);
    PyBuffer_Release(&values);
    PyBuffer_Release(&offsets);
    return result;
}

/* use_sha_instructions(wanted): hash with the CPU's SHA extensions if wanted and the CPU has them, else
   portably (the tests check both); returns whether they are used. Not for use while hashing. */
static PyObject *use_sha_instructions(PyObject *self, PyObject *wanted) {
    int want = PyObject_IsTrue(wanted);
    if (want < 0)
        return NULL;
    hash_block = block_portable;
#ifdef HAVE_X86_SHA
    if (want && cpu_has_sha())
        hash_block = block_sha_ni;
#endif
    return PyBool_FromLong(hash_block != block_portable);
}

static PyMethodDef methods[] = {
    {"midstate", midstate, METH_VARARGS, "SHA-256's state after one 64-byte pad block (32 bytes)."},
    {"hex_digests", hex_digests, METH_VARARGS, "HMAC-SHA256 hex digests of 16-byte values (see the C source)."},
    {"use_sha_instructions", use_sha_instructions, METH_O, "Hash with the CPU's SHA extensions if it has them."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_nik_hmac", NULL, -1, methods};

PyMODINIT_FUNC PyInit__nik_hmac(void) {
#ifdef HAVE_X86_SHA
    if (cpu_has_sha())
        hash_block = block_sha_ni;
#endif
    return PyModule_Create(&module);
}
