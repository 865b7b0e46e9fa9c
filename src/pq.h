/*
 * pq.h — questlog's own Parquet codec: a writer (pq_write.c) and a reader
 * (pq_footer.c, pq_read.c) for flat schemas, on a Thrift compact-protocol
 * codec (thrift.c).
 *
 * Scope: flat schemas of OPTIONAL/REQUIRED columns of the types below; data
 * page V1 written (V1 and V2 read); PLAIN and RLE_DICTIONARY (PLAIN dictionary
 * page) written, PLAIN_DICTIONARY also read; ZSTD (default), SNAPPY,
 * UNCOMPRESSED (GZIP read). See DESIGN.md "The Parquet codec".
 *
 * Threads: a writer or a reader handle belongs to one thread at a time;
 * separate handles share nothing.
 * Errors: negative return, message in the caller's err buffer.
 */
#ifndef QL_PQ_H
#define QL_PQ_H

#include <stddef.h>
#include <stdint.h>

typedef enum ql_pq_type {
    QL_PQ_STRING,     /* BYTE_ARRAY, logicalType STRING, converted_type UTF8 */
    QL_PQ_INT64,      /* INT64 */
    QL_PQ_INT32,      /* INT32 */
    QL_PQ_DOUBLE,     /* DOUBLE */
    QL_PQ_BOOL,       /* BOOLEAN */
    QL_PQ_TIMESTAMP,  /* INT64, TIMESTAMP(isAdjustedToUTC=true, MICROS), converted TIMESTAMP_MICROS */
    QL_PQ_FLOAT,      /* FLOAT (read only; values come back widened as double) */
    QL_PQ_BINARY,     /* BYTE_ARRAY without a string annotation (read only) */
} ql_pq_type_t;

typedef enum ql_pq_codec {
    QL_PQ_UNCOMPRESSED = 0,
    QL_PQ_SNAPPY = 1,
    QL_PQ_GZIP = 2,
    QL_PQ_ZSTD = 6,   /* values match parquet.thrift CompressionCodec */
} ql_pq_codec_t;

const char *ql_pq_type_name(ql_pq_type_t t);     /* "STRING", "INT64", … */
const char *ql_pq_codec_name(ql_pq_codec_t c);   /* "ZSTD", … */
int ql_pq_codec_parse(const char *s, ql_pq_codec_t *out); /* "zstd"|"snappy"|"none"|"uncompressed" */

/* ---- writer ------------------------------------------------------------ */

typedef struct ql_pq_write_options {
    ql_pq_codec_t codec;          /* default ZSTD (0 is UNCOMPRESSED: set it explicitly) */
    int           zstd_level;     /* 1..19, 0 = default 1 (faster than 3 and as small on event data) */
    int64_t       row_group_rows; /* close a row group at this many rows (0 = default 131072) */
    size_t        row_group_bytes;/* ...or when buffered data reaches this (0 = default 64 MiB) */
    size_t        page_bytes;     /* target uncompressed data page size (0 = default 1 MiB) */
    size_t        dict_max_bytes; /* a column's dictionary beyond this falls back to PLAIN (0 = default 1 MiB) */
    const char *const *kv;        /* key/value metadata: "k1","v1","k2","v2",…,NULL; may be NULL */
} ql_pq_write_options_t;

typedef struct ql_pq_writer ql_pq_writer_t;

/* A writer that writes to fd (already open for writing, positioned at 0).
 * The writer never closes or fsyncs fd: the caller owns durability.
 * opt may be NULL for defaults. */
int ql_pq_writer_new(ql_pq_writer_t **out, int fd, const ql_pq_write_options_t *opt,
                     char *err, size_t errlen);

/* Adds a column; returns its index (>= 0) or < 0. Columns may be added until
 * the first row group is flushed (QL_PQ_ESCHEMA after that: start a new file).
 * Adding an OPTIONAL column after rows were appended gives those rows null. */
#define QL_PQ_ESCHEMA (-10)
int ql_pq_writer_add_column(ql_pq_writer_t *w, const char *name, ql_pq_type_t type, int required,
                            char *err, size_t errlen);
/* 1 once a row group has been flushed (the schema is then frozen). */
int ql_pq_writer_schema_frozen(const ql_pq_writer_t *w);
int ql_pq_writer_num_columns(const ql_pq_writer_t *w);
int ql_pq_writer_column_index(const ql_pq_writer_t *w, const char *name, size_t name_len); /* -1 if none */

/* Row-at-a-time: set some columns of the current row, then end_row. Columns
 * not set in a row are null (an error for REQUIRED ones, found at end_row).
 * Setting a column twice in one row replaces the value. The writer copies
 * string bytes. A value of the wrong type for the column is an error. */
int ql_pq_writer_set_string(ql_pq_writer_t *w, int col, const char *s, size_t len);
int ql_pq_writer_set_int64(ql_pq_writer_t *w, int col, int64_t v);   /* INT64, TIMESTAMP */
int ql_pq_writer_set_int32(ql_pq_writer_t *w, int col, int32_t v);
int ql_pq_writer_set_double(ql_pq_writer_t *w, int col, double v);
int ql_pq_writer_set_bool(ql_pq_writer_t *w, int col, int v);
/* Ends the row; may flush a row group to fd. */
int ql_pq_writer_end_row(ql_pq_writer_t *w, char *err, size_t errlen);
/* Discards the current (unfinished) row's values. */
void ql_pq_writer_abort_row(ql_pq_writer_t *w);

int64_t ql_pq_writer_num_rows(const ql_pq_writer_t *w);        /* rows ended so far */
size_t  ql_pq_writer_buffered_bytes(const ql_pq_writer_t *w);  /* memory held for the open row group */
uint64_t ql_pq_writer_bytes_written(const ql_pq_writer_t *w);  /* bytes written to fd so far */

/* Flushes the last row group and writes the footer. The file is then complete
 * (a file with 0 rows is valid). Returns 0 or < 0. */
int ql_pq_writer_finish(ql_pq_writer_t *w, char *err, size_t errlen);
/* Frees the writer (finished or not). */
void ql_pq_writer_free(ql_pq_writer_t *w);

/* ---- reader ------------------------------------------------------------ */

/* The reader (pq_footer.c, pq_read.c; docs/parquet-reader.md) takes any flat file, not
 * only questlog's: data pages V1/V2; PLAIN, PLAIN_/RLE_DICTIONARY, RLE,
 * DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY,
 * BYTE_STREAM_SPLIT; codecs ZSTD, SNAPPY, GZIP, none (others: error at open).
 * Types map as: BYTE_ARRAY/FIXED_LEN with STRING/UTF8/ENUM/JSON → STRING, else
 * BINARY; INT32 (incl. DATE as days, unsigned zero-extended) → INT32; INT64 →
 * INT64; INT64 TIMESTAMP (ms/µs/ns) and INT96 → TIMESTAMP in µs; DECIMAL →
 * DOUBLE; FLOAT → FLOAT; DOUBLE; BOOLEAN. Nested schemas: error at open
 * ("nested columns not supported").
 * Threads: a reader handle is read-only once opened, so ql_pq_read_column,
 * ql_pq_read_dictionary and the accessors may run on one handle from several
 * threads at once (e.g. decoding columns in parallel); ql_pq_close must not. */

typedef struct ql_pq_file ql_pq_file_t;

typedef struct ql_pq_value {
    int     is_set;      /* 0 = absent (no statistic) */
    int64_t i;           /* INT32/INT64/TIMESTAMP/BOOL */
    double  d;           /* DOUBLE/FLOAT */
    const char *s;       /* STRING/BINARY: bytes owned by the file handle */
    size_t  len;
} ql_pq_value_t;

typedef struct ql_pq_column_info {
    const char   *name;
    ql_pq_type_t  type;
    int           required;
} ql_pq_column_info_t;

typedef struct ql_pq_chunk_info {
    ql_pq_codec_t codec;
    int64_t       num_values;
    int64_t       total_compressed_size, total_uncompressed_size;
    int64_t       data_page_offset, dictionary_page_offset; /* -1 if none */
    int64_t       null_count;                               /* -1 if unknown */
    ql_pq_value_t min, max;                                 /* statistics (min_value/max_value) */
    const char   *encodings;                                /* "PLAIN,RLE,RLE_DICTIONARY" */
} ql_pq_chunk_info_t;

/* Opens a file and parses its footer (bounded: a footer larger than the file
 * or than 64 MiB is an error). Caller frees with ql_pq_close. */
int ql_pq_open(ql_pq_file_t **out, const char *path, char *err, size_t errlen);
/* Same over a memory buffer the caller keeps alive until ql_pq_close (fuzzing). */
int ql_pq_open_mem(ql_pq_file_t **out, const void *buf, size_t len, char *err, size_t errlen);
void ql_pq_close(ql_pq_file_t *f);
/* Pages whose header carries a CRC (PageHeader.crc: CRC-32 of the compressed
 * body, as parquet-java, Arrow and questlog's writer put there) are checked
 * before they are decoded; a mismatch fails the read with "fails its
 * checksum … the file is corrupt". This turns the check off for f (the fuzz
 * target, so that mutated pages reach the decoders). Call before reading. */
void ql_pq_skip_checksums(ql_pq_file_t *f);

int64_t     ql_pq_num_rows(const ql_pq_file_t *f);
int         ql_pq_num_row_groups(const ql_pq_file_t *f);
int64_t     ql_pq_row_group_rows(const ql_pq_file_t *f, int rg);
int         ql_pq_num_columns(const ql_pq_file_t *f);
const ql_pq_column_info_t *ql_pq_column(const ql_pq_file_t *f, int col);
int         ql_pq_column_index(const ql_pq_file_t *f, const char *name); /* -1 if none */
const ql_pq_chunk_info_t *ql_pq_chunk(const ql_pq_file_t *f, int rg, int col);
const char *ql_pq_created_by(const ql_pq_file_t *f);                 /* may be NULL */
/* Key/value metadata value for key, or NULL. */
const char *ql_pq_kv(const ql_pq_file_t *f, const char *key);
/* Number of key-value pairs; the i-th (0-based, file order) into *key and *value
 * (value may be NULL). Strings are owned by the file handle. */
int         ql_pq_num_kv(const ql_pq_file_t *f);
void        ql_pq_kv_at(const ql_pq_file_t *f, int i, const char **key, const char **value);

/* A decoded column chunk: n values; valid[i] = 0 for null. Strings point into
 * memory owned by this struct. Free with ql_pq_column_data_free. */
typedef struct ql_pq_column_data {
    ql_pq_type_t type;
    int64_t      n;
    uint8_t     *valid;
    int64_t     *i64;     /* INT64, TIMESTAMP, INT32 (widened), BOOL (0/1) */
    double      *f64;     /* DOUBLE, FLOAT */
    const char **str;     /* STRING, BINARY */
    uint32_t    *str_len;
    void        *arena;   /* internal */
    /* Dictionary form (only from ql_pq_read_column_dict; otherwise idx is
     * NULL): row r holds entry idx[r] of a dict_n-entry dictionary kept in
     * dict_i64 / dict_f64 / dict_str + dict_len (by type, as above); the per-
     * row arrays i64/f64/str/str_len are then NULL. idx[r] is 0 for a null
     * row, and dict_n may be 0 when every row is null: test valid[r] first.
     * Invariant: idx[r] < dict_n for every valid row. */
    uint32_t    *idx;
    int64_t      dict_n;
    int64_t     *dict_i64;
    double      *dict_f64;
    const char **dict_str;
    uint32_t    *dict_len;
} ql_pq_column_data_t;

/* Decodes column `col` of row group `rg` (only that chunk is read: column
 * projection). Never reads outside the file and never allocates more than
 * the chunk's declared sizes allow (bounded). The data does not depend on f:
 * it may outlive ql_pq_close. On error out is left empty; freeing it is
 * always safe. Errors of the read functions (this one, _dict, and
 * ql_pq_read_dictionary) start with "row group R column NAME: ", so a caller
 * adds only the file's path. */
int  ql_pq_read_column(ql_pq_file_t *f, int rg, int col, ql_pq_column_data_t *out,
                       char *err, size_t errlen);
void ql_pq_column_data_free(ql_pq_column_data_t *d);

/* As ql_pq_read_column, but a chunk whose data pages are all dictionary-
 * encoded comes back in dictionary form (idx + dict_*: 4 bytes a row instead
 * of a value, and each distinct value once — what a grouping or a repeated
 * string wants). A chunk that is not (or falls back to PLAIN part way) comes
 * back in the per-row form of ql_pq_read_column, idx NULL. Same bounds,
 * ownership and threading. */
int  ql_pq_read_column_dict(ql_pq_file_t *f, int rg, int col, ql_pq_column_data_t *out,
                            char *err, size_t errlen);

/* For skipping a row group on an equality/IN filter without decoding it:
 * decodes only the dictionary page of column `col` in row group `rg` into
 * out (n = number of distinct entries, all valid, same types and ownership
 * as ql_pq_read_column), after walking the chunk's page headers (no
 * decompression) to check that every data page is dictionary-encoded.
 * Returns 1 when so: the chunk's non-null values are all among out's
 * values. Returns 0 (out empty) when the chunk has no dictionary or some
 * page falls back to another encoding — then nothing can be concluded.
 * < 0 on a malformed chunk (out empty). Free out with ql_pq_column_data_free
 * in every case. */
int ql_pq_read_dictionary(ql_pq_file_t *f, int rg, int col, ql_pq_column_data_t *out,
                          char *err, size_t errlen);

#endif
