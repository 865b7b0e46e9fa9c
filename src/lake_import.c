/*
 * lake_import.c — the import side of the lake: import labels ("imp<ID>w<k>",
 * ql_lake_import_label / ql_lake_import_id_of), the import lock (flock of
 * LAKE/.imports), the records LAKE/.imports/<ID> that are an import's commit
 * point, the ID.merged markers, and rollback of an import's files.
 * Contracts in lake.h and lake_int.h.
 *
 * Relies on invariants I8 (an import's files count only once its record
 * exists; the record is written last, durably, under the lock) and I9 (an
 * import merged into other files cannot be withdrawn: ID.merged is written
 * before such a merge commits), written down in lake.c.
 */
#include "lake.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lake_int.h"
#include "util.h"

/* ---- imports (I8) ---------------------------------------------------------------- */

void ql_lake_import_label(const char *id, int worker, char out[QL_LAKE_LABEL_MAX])
{
    snprintf(out, QL_LAKE_LABEL_MAX, "imp%.32sw%d", id, worker);
}

/* "imp<ID>w<digits>" → ID (I8) into id and 1; any other label → 0. */
int ql_lake_import_id_of(const char *label, char id[QL_LAKE_IMPORT_ID_LEN + 1])
{
    if (strncmp(label, "imp", 3)) return 0;
    const char *h = label + 3, *w = h + QL_LAKE_IMPORT_ID_LEN;
    for (const char *c = h; c < w; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'))) return 0;
    if (*w != 'w' || !w[1]) return 0;
    for (const char *c = w + 1; *c; c++)
        if (*c < '0' || *c > '9') return 0;
    memcpy(id, h, QL_LAKE_IMPORT_ID_LEN);
    id[QL_LAKE_IMPORT_ID_LEN] = '\0';
    return 1;
}

int ql_lake_import_lock(const char *lake_dir, int *fd, char *err, size_t errlen)
{
    char dir[4096];
    *fd = -1;
    if (snprintf(dir, sizeof dir, "%s/.imports", lake_dir) >= (int)sizeof dir)
        return ql_err(err, errlen, "path too long: %s", lake_dir);
    if (ql_lake_mkdir_durable(dir, err, errlen)) return -1;
    int f = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f < 0) return ql_err(err, errlen, "cannot open '%s': %s", dir, strerror(errno));
    while (flock(f, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        int e = errno;
        close(f);
        return ql_err(err, errlen, "cannot lock '%s': %s", dir, strerror(e));
    }
    *fd = f;
    return 0;
}

/* LAKE/.imports/ID.merged (I9) into out; -1 if it does not fit. */
static int merged_marker_path(const char *lake_dir, const char *id, char *out, size_t n)
{
    return snprintf(out, n, "%s/.imports/%s.merged", lake_dir, id) >= (int)n ? -1 : 0;
}

int ql_lake_import_merged(const char *lake_dir, const char *id)
{
    char p[4096];
    return merged_marker_path(lake_dir, id, p, sizeof p) == 0 && access(p, F_OK) == 0;
}

int ql_lake_import_done(const char *lake_dir, const char *id)
{
    char p[4096];
    if (snprintf(p, sizeof p, "%s/.imports/%s", lake_dir, id) >= (int)sizeof p) return 0;
    return access(p, F_OK) == 0 || ql_lake_import_merged(lake_dir, id);
}

/* I9: before a merge of several imports' files commits, each import whose
 * own files (imp<ID>w…) are among the inputs gets LAKE/.imports/ID.merged,
 * durably. Merged files of earlier merges (imp…c) already have theirs. */
int ql_lake_import_mark_merged(const char *lake_dir, const char *out_name, const ql_lake_file_t *files, size_t n,
                               char *err, size_t errlen)
{
    char id[QL_LAKE_IMPORT_ID_LEN + 1], path[4096], text[4200];
    for (size_t i = 0; i < n; i++) {
        if (!ql_lake_import_id_of(files[i].label, id) || ql_lake_import_merged(lake_dir, id)) continue;
        if (merged_marker_path(lake_dir, id, path, sizeof path)) return ql_err(err, errlen, "path too long");
        int len = snprintf(text, sizeof text, "merged into %s\n", out_name);
        if (len < 0 || len >= (int)sizeof text) return ql_err(err, errlen, "path too long");
        if (ql_write_file_atomic(path, text, (size_t)len, err, errlen)) return -1;
    }
    return 0;
}

int ql_lake_import_size_seen(const char *lake_dir, uint64_t bytes)
{
    char dir[4096], want[32];
    if (snprintf(dir, sizeof dir, "%s/.imports", lake_dir) >= (int)sizeof dir) return 0;
    snprintf(want, sizeof want, "\nbytes %llu\n", (unsigned long long)bytes);
    DIR *d = opendir(dir);
    if (!d) return 0;
    int seen = 0;
    struct dirent *de;
    while (!seen && (de = readdir(d))) {
        if (strlen(de->d_name) != QL_LAKE_IMPORT_ID_LEN || strspn(de->d_name, "0123456789abcdef") != QL_LAKE_IMPORT_ID_LEN)
            continue;
        char p[4096 + 64], *text = NULL;
        size_t len;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (ql_read_file(p, &text, &len, NULL, 0) == 0) seen = strstr(text, want) != NULL;
        free(text);
    }
    closedir(d);
    return seen;
}

int ql_lake_import_rollback(const char *lake_dir, const char *id, int *removed, char *err, size_t errlen)
{
    char **tables = NULL, dir[4096], fid[QL_LAKE_IMPORT_ID_LEN + 1];
    size_t nt = 0;
    int rc = 0, nrm = 0;
    if ((rc = ql_lake_list_tables(lake_dir, &tables, &nt, err, errlen))) goto out;
    for (size_t t = 0; t < nt && !rc; t++) {
        flist_t l = {0};
        rc = ql_lake_scan_table(lake_dir, tables[t], &l, NULL, NULL, err, errlen);
        for (size_t i = 0; i < l.n && !rc; i++) {
            if (!ql_lake_import_id_of(l.v[i].label, fid) || strcmp(fid, id)) continue;
            if (unlink(l.v[i].path) != 0 && errno != ENOENT) {
                rc = ql_err(err, errlen, "cannot delete '%s': %s", l.v[i].path, strerror(errno));
                break;
            }
            nrm++;
            ql_lake_parent_dir(l.v[i].path, dir, sizeof dir);
            rc = ql_fsync_dir(dir, err, errlen);
        }
        ql_lake_files_free(l.v, l.n);
    }
out:
    if (removed) *removed = nrm;
    ql_lake_tables_free(tables, nt);
    return rc;
}

int ql_lake_import_record(const char *lake_dir, const char *id, const char *info, char *err, size_t errlen)
{
    char p[4096];
    if (snprintf(p, sizeof p, "%s/.imports/%s", lake_dir, id) >= (int)sizeof p)
        return ql_err(err, errlen, "path too long: %s", lake_dir);
    return ql_write_file_atomic(p, info, strlen(info), err, errlen);
}
