/*
 * svg.h — small inline-SVG charts for `questlog report`: stacked columns,
 * horizontal bars, a line/area chart, and XML text escaping. Output is
 * self-contained SVG markup (no scripts, no external fonts or links), scaled
 * with a viewBox so it fits the page width.
 *
 * Threads: no shared state. Memory: everything is appended to the caller's
 * buffer; inputs are only read.
 */
#ifndef QL_SVG_H
#define QL_SVG_H

#include "util.h"

/* The chart palette (6 colours, cycled). */
const char *ql_svg_color(int i);

/* Appends s with &, <, >, ", ' escaped (for XML/HTML text and attributes). */
void ql_svg_escape(ql_buf_t *b, const char *s);

/* Stacked columns: nx columns labelled xlabels[i] (every few shown), ns
 * series named names[s]; vals[s * nx + i] is series s at column i. A legend
 * is drawn above. */
void ql_svg_stacked_columns(ql_buf_t *b, int width, int height, const char *const *xlabels, int nx,
                            const char *const *names, const double *vals, int ns, const char *yunit);

/* Horizontal bars, one per label, longest first as given, value printed at
 * the bar's end. Height follows from n. */
void ql_svg_hbars(ql_buf_t *b, int width, const char *const *labels, const double *vals, int n,
                  const char *color);

/* A line with the area under it filled, over nx points labelled xlabels[i]. */
void ql_svg_area(ql_buf_t *b, int width, int height, const char *const *xlabels, const double *vals, int nx,
                 const char *color, const char *yunit);

#endif
