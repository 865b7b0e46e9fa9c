/*
 * thrift.c — Thrift compact protocol encoder and bounded decoder (see thrift.h
 * for the wire summary and the contracts).
 */
#include "thrift.h"

#include <assert.h>
#include <string.h>

/* ---- encoder ----------------------------------------------------------- */

void ql_thrift_put_uvarint(ql_buf_t *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    ql_buf_append(b, tmp, n);
}

void ql_thrift_writer_init(ql_thrift_writer_t *w, ql_buf_t *b)
{
    memset(w, 0, sizeof *w);
    w->b = b;
}

static void field_header(ql_thrift_writer_t *w, int16_t id, int type)
{
    int16_t last = w->last[w->depth];
    if (id > last && id - last <= 15) {
        ql_buf_putc(w->b, (char)(((id - last) << 4) | type));
    } else {
        ql_buf_putc(w->b, (char)type);
        ql_thrift_put_uvarint(w->b, ql_thrift_zigzag64(id));
    }
    w->last[w->depth] = id;
}

void ql_thrift_write_field_bool(ql_thrift_writer_t *w, int16_t id, int v)
{
    field_header(w, id, v ? QL_THRIFT_TRUE : QL_THRIFT_FALSE);
}

void ql_thrift_write_i32(ql_thrift_writer_t *w, int32_t v)
{
    ql_thrift_put_uvarint(w->b, ql_thrift_zigzag64(v));
}

void ql_thrift_write_i64(ql_thrift_writer_t *w, int64_t v)
{
    ql_thrift_put_uvarint(w->b, ql_thrift_zigzag64(v));
}

void ql_thrift_write_binary(ql_thrift_writer_t *w, const void *p, size_t n)
{
    ql_thrift_put_uvarint(w->b, n);
    ql_buf_append(w->b, p, n);
}

void ql_thrift_write_bool(ql_thrift_writer_t *w, int v)
{
    ql_buf_putc(w->b, v ? QL_THRIFT_TRUE : QL_THRIFT_FALSE);
}

void ql_thrift_write_field_i32(ql_thrift_writer_t *w, int16_t id, int32_t v)
{
    field_header(w, id, QL_THRIFT_I32);
    ql_thrift_write_i32(w, v);
}

void ql_thrift_write_field_i16(ql_thrift_writer_t *w, int16_t id, int16_t v)
{
    field_header(w, id, QL_THRIFT_I16);
    ql_thrift_write_i32(w, v);
}

void ql_thrift_write_field_i64(ql_thrift_writer_t *w, int16_t id, int64_t v)
{
    field_header(w, id, QL_THRIFT_I64);
    ql_thrift_write_i64(w, v);
}

void ql_thrift_write_field_double(ql_thrift_writer_t *w, int16_t id, double v)
{
    uint64_t u;
    uint8_t le[8];
    memcpy(&u, &v, 8);
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(u >> (8 * i));
    field_header(w, id, QL_THRIFT_DOUBLE);
    ql_buf_append(w->b, le, 8);
}

void ql_thrift_write_field_binary(ql_thrift_writer_t *w, int16_t id, const void *p, size_t n)
{
    field_header(w, id, QL_THRIFT_BINARY);
    ql_thrift_write_binary(w, p, n);
}

void ql_thrift_write_field_string(ql_thrift_writer_t *w, int16_t id, const char *s)
{
    ql_thrift_write_field_binary(w, id, s, strlen(s));
}

void ql_thrift_write_struct_begin(ql_thrift_writer_t *w)
{
    assert(w->depth < QL_THRIFT_MAX_DEPTH);
    w->depth++;
    w->last[w->depth] = 0;
}

void ql_thrift_write_field_struct_begin(ql_thrift_writer_t *w, int16_t id)
{
    field_header(w, id, QL_THRIFT_STRUCT);
    ql_thrift_write_struct_begin(w);
}

void ql_thrift_write_struct_end(ql_thrift_writer_t *w)
{
    ql_buf_putc(w->b, QL_THRIFT_STOP);
    if (w->depth > 0) w->depth--;
}

void ql_thrift_write_list_begin(ql_thrift_writer_t *w, int elem_type, uint32_t n)
{
    if (n < 15) {
        ql_buf_putc(w->b, (char)((n << 4) | (uint32_t)elem_type));
    } else {
        ql_buf_putc(w->b, (char)(0xF0 | elem_type));
        ql_thrift_put_uvarint(w->b, n);
    }
}

void ql_thrift_write_field_list_begin(ql_thrift_writer_t *w, int16_t id, int elem_type, uint32_t n)
{
    field_header(w, id, QL_THRIFT_LIST);
    ql_thrift_write_list_begin(w, elem_type, n);
}

/* ---- decoder ----------------------------------------------------------- */

static int fail(ql_thrift_reader_t *r, const char *msg)
{
    if (!r->err) {
        r->err = -1;
        r->msg = msg;
    }
    r->p = r->end; /* nothing more is read after a failure */
    return -1;
}

void ql_thrift_reader_init(ql_thrift_reader_t *r, const void *buf, size_t len)
{
    memset(r, 0, sizeof *r);
    r->p = buf;
    r->end = r->p + len;
}

size_t ql_thrift_reader_pos(const ql_thrift_reader_t *r, const void *buf)
{
    return (size_t)(r->p - (const uint8_t *)buf);
}

static int get_uvarint(ql_thrift_reader_t *r, uint64_t *v)
{
    uint64_t x = 0;
    if (r->err) return r->err;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end) return fail(r, "thrift: truncated varint");
        uint8_t c = *r->p++;
        if (shift == 63 && c > 1) return fail(r, "thrift: varint overflow");
        x |= (uint64_t)(c & 0x7F) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return fail(r, "thrift: varint too long");
}

int ql_thrift_read_field(ql_thrift_reader_t *r, int16_t *id, int *type)
{
    if (r->err) return r->err;
    if (r->p >= r->end) return fail(r, "thrift: truncated field header");
    uint8_t c = *r->p++;
    int t = c & 0x0F;
    if (t == QL_THRIFT_STOP) {
        if (c != 0) return fail(r, "thrift: bad stop byte");
        *type = QL_THRIFT_STOP;
        *id = 0;
        if (r->depth > 0) r->depth--;
        return 0;
    }
    if (t > QL_THRIFT_STRUCT) return fail(r, "thrift: bad field type");
    int delta = c >> 4;
    int64_t fid;
    if (delta) {
        fid = r->last[r->depth] + delta;
    } else {
        uint64_t u;
        if (get_uvarint(r, &u)) return r->err;
        fid = ql_thrift_unzigzag64(u);
    }
    if (fid < INT16_MIN || fid > INT16_MAX) return fail(r, "thrift: field id out of range");
    r->last[r->depth] = (int16_t)fid;
    *id = (int16_t)fid;
    *type = t;
    return 0;
}

int ql_thrift_read_i64(ql_thrift_reader_t *r, int64_t *v)
{
    uint64_t u;
    if (get_uvarint(r, &u)) return r->err;
    *v = ql_thrift_unzigzag64(u);
    return 0;
}

int ql_thrift_read_i32(ql_thrift_reader_t *r, int32_t *v)
{
    int64_t x;
    if (ql_thrift_read_i64(r, &x)) return r->err;
    if (x < INT32_MIN || x > INT32_MAX) return fail(r, "thrift: i32 out of range");
    *v = (int32_t)x;
    return 0;
}

int ql_thrift_read_byte(ql_thrift_reader_t *r, int8_t *v)
{
    if (r->err) return r->err;
    if (r->p >= r->end) return fail(r, "thrift: truncated byte");
    *v = (int8_t)*r->p++;
    return 0;
}

int ql_thrift_read_bool_elem(ql_thrift_reader_t *r, int *v)
{
    int8_t b;
    if (ql_thrift_read_byte(r, &b)) return r->err;
    *v = b == QL_THRIFT_TRUE;
    return 0;
}

int ql_thrift_read_double(ql_thrift_reader_t *r, double *v)
{
    if (r->err) return r->err;
    if (r->end - r->p < 8) return fail(r, "thrift: truncated double");
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) u |= (uint64_t)r->p[i] << (8 * i);
    memcpy(v, &u, 8);
    r->p += 8;
    return 0;
}

int ql_thrift_read_binary(ql_thrift_reader_t *r, const uint8_t **p, uint32_t *n)
{
    uint64_t len;
    if (get_uvarint(r, &len)) return r->err;
    if (len > (uint64_t)(r->end - r->p)) return fail(r, "thrift: binary longer than buffer");
    *p = r->p;
    *n = (uint32_t)len;
    r->p += len;
    return 0;
}

int ql_thrift_read_struct_begin(ql_thrift_reader_t *r)
{
    if (r->err) return r->err;
    if (r->depth >= QL_THRIFT_MAX_DEPTH) return fail(r, "thrift: nesting too deep");
    r->depth++;
    r->last[r->depth] = 0;
    return 0;
}

int ql_thrift_read_list_begin(ql_thrift_reader_t *r, int *elem_type, uint32_t *n)
{
    if (r->err) return r->err;
    if (r->p >= r->end) return fail(r, "thrift: truncated list header");
    uint8_t c = *r->p++;
    uint64_t size = c >> 4;
    if (size == 15 && get_uvarint(r, &size)) return r->err;
    int t = c & 0x0F;
    if (t == QL_THRIFT_STOP || t > QL_THRIFT_STRUCT) return fail(r, "thrift: bad list element type");
    /* Every element of every type takes at least one byte on the wire. */
    if (size > (uint64_t)(r->end - r->p)) return fail(r, "thrift: list longer than buffer");
    *elem_type = t;
    *n = (uint32_t)size;
    return 0;
}

static int skip_depth(ql_thrift_reader_t *r, int type, int depth)
{
    if (r->err) return r->err;
    if (depth > QL_THRIFT_MAX_DEPTH) return fail(r, "thrift: nesting too deep");
    switch (type) {
    case QL_THRIFT_TRUE:
    case QL_THRIFT_FALSE:
        return 0; /* bool field: value was in the header */
    case QL_THRIFT_BYTE: {
        int8_t b;
        return ql_thrift_read_byte(r, &b);
    }
    case QL_THRIFT_I16:
    case QL_THRIFT_I32:
    case QL_THRIFT_I64: {
        uint64_t u;
        return get_uvarint(r, &u);
    }
    case QL_THRIFT_DOUBLE: {
        double d;
        return ql_thrift_read_double(r, &d);
    }
    case QL_THRIFT_BINARY: {
        const uint8_t *p;
        uint32_t n;
        return ql_thrift_read_binary(r, &p, &n);
    }
    case QL_THRIFT_LIST:
    case QL_THRIFT_SET: {
        int et;
        uint32_t n;
        if (ql_thrift_read_list_begin(r, &et, &n)) return r->err;
        for (uint32_t i = 0; i < n; i++) {
            if (et == QL_THRIFT_TRUE || et == QL_THRIFT_FALSE) {
                int8_t b;
                if (ql_thrift_read_byte(r, &b)) return r->err;
            } else if (skip_depth(r, et, depth + 1)) {
                return r->err;
            }
        }
        return 0;
    }
    case QL_THRIFT_MAP: {
        uint64_t n;
        if (get_uvarint(r, &n)) return r->err;
        if (n == 0) return 0;
        if (n > (uint64_t)(r->end - r->p)) return fail(r, "thrift: map longer than buffer");
        int8_t kv;
        if (ql_thrift_read_byte(r, &kv)) return r->err;
        int kt = ((uint8_t)kv) >> 4, vt = kv & 0x0F;
        if (kt == 0 || kt > QL_THRIFT_STRUCT || vt == 0 || vt > QL_THRIFT_STRUCT)
            return fail(r, "thrift: bad map types");
        for (uint64_t i = 0; i < n; i++) {
            for (int k = 0; k < 2; k++) {
                int t = k ? vt : kt;
                if (t == QL_THRIFT_TRUE || t == QL_THRIFT_FALSE) {
                    int8_t b;
                    if (ql_thrift_read_byte(r, &b)) return r->err;
                } else if (skip_depth(r, t, depth + 1)) {
                    return r->err;
                }
            }
        }
        return 0;
    }
    case QL_THRIFT_STRUCT: {
        if (ql_thrift_read_struct_begin(r)) return r->err;
        for (;;) {
            int16_t id;
            int t;
            if (ql_thrift_read_field(r, &id, &t)) return r->err;
            if (t == QL_THRIFT_STOP) break;
            if (skip_depth(r, t, depth + 1)) return r->err;
        }
        return 0;
    }
    default:
        return fail(r, "thrift: bad type");
    }
}

int ql_thrift_skip(ql_thrift_reader_t *r, int type)
{
    return skip_depth(r, type, r->depth);
}
