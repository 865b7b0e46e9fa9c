/*
 * svg.c — inline SVG charts for the report (see svg.h). Axes use "nice"
 * tick steps (1, 2, 5 × 10^k); text is escaped; numbers print compactly
 * (12.3k, 4.5M).
 */
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *palette[] = {"#4f7cff", "#ff8a3d", "#2bb673", "#a259ff", "#f2c94c", "#eb5757"};

const char *ql_svg_color(int i)
{
    return palette[(i < 0 ? -i : i) % (int)QL_ARRAY_LEN(palette)];
}

void ql_svg_escape(ql_buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': ql_buf_puts(b, "&amp;"); break;
        case '<': ql_buf_puts(b, "&lt;"); break;
        case '>': ql_buf_puts(b, "&gt;"); break;
        case '"': ql_buf_puts(b, "&quot;"); break;
        case '\'': ql_buf_puts(b, "&#39;"); break;
        default:
            if ((unsigned char)*s < 0x20) ql_buf_putc(b, ' ');
            else ql_buf_putc(b, *s);
        }
    }
}

/* 12, 1.2k, 34k, 1.5M */
static void fmt_num(char *out, size_t n, double v)
{
    double a = fabs(v);
    if (a >= 1e6) snprintf(out, n, "%.*fM", a >= 1e7 ? 0 : 1, v / 1e6);
    else if (a >= 1e3) snprintf(out, n, "%.*fk", a >= 1e4 ? 0 : 1, v / 1e3);
    else if (v == floor(v)) snprintf(out, n, "%.0f", v);
    else snprintf(out, n, "%.1f", v);
}

/* A nice step so that max fits in about `ticks` steps. */
static double nice_step(double max, int ticks)
{
    if (max <= 0) return 1;
    double raw = max / ticks, p = pow(10, floor(log10(raw))), f = raw / p;
    double s = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return s * p < 1 ? 1 : s * p;
}

static void open_svg(ql_buf_t *b, int w, int h)
{
    ql_buf_printf(b,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"100%%\" "
                  "role=\"img\" font-family=\"system-ui, -apple-system, Segoe UI, Roboto, sans-serif\" "
                  "font-size=\"12\">\n",
                  w, h);
}

/* Y axis with gridlines; returns the axis maximum. */
static double y_axis(ql_buf_t *b, double max, int x0, int x1, int y0, int y1, const char *unit)
{
    double step = nice_step(max, 5);
    double top = ceil(max / step) * step;
    if (top <= 0) top = step;
    for (double v = 0; v <= top + step / 2; v += step) {
        double y = y1 - (v / top) * (y1 - y0);
        char t[32];
        fmt_num(t, sizeof t, v);
        ql_buf_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e6e8ef\"/>\n", x0, y, x1, y);
        ql_buf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#6b7280\">%s</text>\n", x0 - 6,
                      y + 4, t);
    }
    if (unit && *unit) {
        ql_buf_printf(b, "<text x=\"%d\" y=\"%d\" fill=\"#6b7280\">", x0 - 40, y0 - 12);
        ql_svg_escape(b, unit);
        ql_buf_puts(b, "</text>\n");
    }
    return top;
}

/* x labels: at most ~10 shown, evenly spaced. */
static void x_labels(ql_buf_t *b, const char *const *xl, int nx, double x0, double bw, int y)
{
    int every = nx <= 10 ? 1 : (nx + 9) / 10;
    for (int i = 0; i < nx; i += every) {
        ql_buf_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#6b7280\">", x0 + bw * i + bw / 2, y);
        ql_svg_escape(b, xl[i]);
        ql_buf_puts(b, "</text>\n");
    }
}

void ql_svg_stacked_columns(ql_buf_t *b, int width, int height, const char *const *xlabels, int nx,
                            const char *const *names, const double *vals, int ns, const char *yunit)
{
    int x0 = 56, x1 = width - 12, y0 = 44, y1 = height - 28;
    double max = 0;
    for (int i = 0; i < nx; i++) {
        double s = 0;
        for (int k = 0; k < ns; k++) s += vals[k * nx + i];
        if (s > max) max = s;
    }
    open_svg(b, width, height);
    /* legend */
    double lx = x0;
    for (int k = 0; k < ns; k++) {
        ql_buf_printf(b, "<rect x=\"%.1f\" y=\"8\" width=\"12\" height=\"12\" rx=\"3\" fill=\"%s\"/>", lx,
                      ql_svg_color(k));
        ql_buf_printf(b, "<text x=\"%.1f\" y=\"18\" fill=\"#374151\">", lx + 17);
        ql_svg_escape(b, names[k]);
        ql_buf_puts(b, "</text>\n");
        lx += 30 + 7.0 * (double)strlen(names[k]);
    }
    double top = y_axis(b, max, x0, x1, y0, y1, yunit);
    double bw = nx ? (double)(x1 - x0) / nx : 0, gap = bw > 6 ? bw * 0.18 : 0;
    for (int i = 0; i < nx; i++) {
        double acc = 0;
        for (int k = 0; k < ns; k++) {
            double v = vals[k * nx + i];
            if (v <= 0) continue;
            double h = v / top * (y1 - y0), y = y1 - (acc + v) / top * (y1 - y0);
            ql_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">", x0 + bw * i + gap / 2,
                          y, bw - gap, h, ql_svg_color(k));
            ql_buf_puts(b, "<title>");
            ql_svg_escape(b, xlabels[i]);
            ql_buf_puts(b, " ");
            ql_svg_escape(b, names[k]);
            ql_buf_printf(b, ": %.0f</title></rect>\n", v);
            acc += v;
        }
    }
    ql_buf_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#9ca3af\"/>\n", x0, y1, x1, y1);
    x_labels(b, xlabels, nx, x0, bw, y1 + 18);
    ql_buf_puts(b, "</svg>\n");
}

void ql_svg_hbars(ql_buf_t *b, int width, const char *const *labels, const double *vals, int n, const char *color)
{
    int row = 26, lw = 190, x0 = lw + 10, x1 = width - 60, height = n * row + 12;
    double max = 0;
    for (int i = 0; i < n; i++) if (vals[i] > max) max = vals[i];
    if (max <= 0) max = 1;
    open_svg(b, width, height);
    for (int i = 0; i < n; i++) {
        double y = 6 + i * row, w = vals[i] / max * (x1 - x0);
        if (w < 1 && vals[i] > 0) w = 1;
        char t[32];
        fmt_num(t, sizeof t, vals[i]);
        ql_buf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#374151\">", lw, y + 15);
        /* long labels are cut to fit the label column */
        char cut[40];
        snprintf(cut, sizeof cut, "%s", labels[i]);
        if (strlen(labels[i]) >= sizeof cut) memcpy(cut + sizeof cut - 4, "...", 4);
        ql_svg_escape(b, cut);
        ql_buf_puts(b, "</text>\n");
        ql_buf_printf(b, "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"18\" rx=\"4\" fill=\"%s\"><title>", x0, y + 2,
                      w, color);
        ql_svg_escape(b, labels[i]);
        ql_buf_printf(b, ": %.0f</title></rect>\n", vals[i]);
        ql_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#111827\" font-weight=\"600\">%s</text>\n", x0 + w + 6,
                      y + 15, t);
    }
    ql_buf_puts(b, "</svg>\n");
}

void ql_svg_area(ql_buf_t *b, int width, int height, const char *const *xlabels, const double *vals, int nx,
                 const char *color, const char *yunit)
{
    int x0 = 56, x1 = width - 12, y0 = 20, y1 = height - 28;
    double max = 0;
    for (int i = 0; i < nx; i++) if (vals[i] > max) max = vals[i];
    open_svg(b, width, height);
    double top = y_axis(b, max, x0, x1, y0, y1, yunit);
    double bw = nx ? (double)(x1 - x0) / nx : 0;
    if (nx > 0) {
        ql_buf_t line = QL_BUF_INIT;
        for (int i = 0; i < nx; i++)
            ql_buf_printf(&line, "%s%.1f,%.1f", i ? " L" : "M", x0 + bw * i + bw / 2, y1 - vals[i] / top * (y1 - y0));
        ql_buf_printf(b, "<path d=\"%s L%.1f,%d L%.1f,%d Z\" fill=\"%s\" fill-opacity=\"0.18\"/>\n", line.data,
                      x0 + bw * (nx - 1) + bw / 2, y1, x0 + bw / 2, y1, color);
        ql_buf_printf(b, "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\" stroke-linejoin=\"round\"/>\n",
                      line.data, color);
        ql_buf_free(&line);
        if (nx <= 60)
            for (int i = 0; i < nx; i++) {
                ql_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>", x0 + bw * i + bw / 2,
                              y1 - vals[i] / top * (y1 - y0), color);
                ql_svg_escape(b, xlabels[i]);
                ql_buf_printf(b, ": %.0f</title></circle>\n", vals[i]);
            }
    }
    ql_buf_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#9ca3af\"/>\n", x0, y1, x1, y1);
    x_labels(b, xlabels, nx, x0, bw, y1 + 18);
    ql_buf_puts(b, "</svg>\n");
}
