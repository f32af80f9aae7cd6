/* aj_audit_render.c - the auditor's reports written out: aligned text, CSV, a standalone HTML
 * page with inline SVG charts (docs/audit.md "Reports"). */
#include <stdlib.h>
#include <string.h>

#include "aj_audit_report.h"
#include "aj_render.h"

#define REP_CHART_W 960      /* SVG width */
#define REP_CHART_LABEL_X 232
#define REP_CHART_BAR_X 240
#define REP_CHART_BAR_W 380  /* the longest bar */
#define REP_CHART_ROW_H 24

/* ------------------------------------------------------------------ the model */

static char *rep_strdup(const char *s) {
    size_t n = strlen(s ? s : "") + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s ? s : "", n);
    return p;
}

static void rep_row_free(const aj_rep *r, aj_rep_row *row) {
    if (!row->cells) return;
    for (size_t c = 0; c < r->n_cols; c++) free(row->cells[c]);
    free(row->cells);
}

void aj_rep_free(aj_rep *r) {
    if (!r) return;
    for (size_t s = 0; s < r->n_sections; s++) {
        aj_rep_section *sec = &r->sections[s];
        for (size_t i = 0; i < sec->n_rows; i++) rep_row_free(r, &sec->rows[i]);
        free(sec->rows);
        free(sec->title);
    }
    free(r->sections);
    for (size_t k = 0; k < sizeof(r->charts) / sizeof(r->charts[0]); k++) {
        for (size_t i = 0; i < r->charts[k].n_bars; i++) {
            free(r->charts[k].bars[i].label);
            free(r->charts[k].bars[i].note);
        }
        free(r->charts[k].bars);
    }
    free(r->title);
    free(r->subtitle);
    free(r->notes);
    memset(r, 0, sizeof(*r));
}

/* Makes room for one more element of size sz in *arr (n used, *cap allocated). 0 or -1. */
static int rep_grow(void **arr, size_t n, size_t *cap, size_t sz) {
    if (n < *cap) return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, ncap * sz);
    if (!p) return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

aj_rep_section *aj_rep_section_add(aj_rep *r, const char *title) {
    if (rep_grow((void **)&r->sections, r->n_sections, &r->cap_sections, sizeof(*r->sections)) != 0) return NULL;
    aj_rep_section *s = &r->sections[r->n_sections];
    memset(s, 0, sizeof(*s));
    if (!(s->title = rep_strdup(title))) return NULL;
    r->n_sections++;
    return s;
}

aj_rep_row *aj_rep_row_add(aj_rep *r, aj_rep_section *s, const char *const *cells, int total, int decimals) {
    if (rep_grow((void **)&s->rows, s->n_rows, &s->cap_rows, sizeof(*s->rows)) != 0) return NULL;
    aj_rep_row row = {.cells = calloc(r->n_cols, sizeof(char *)), .total = total, .decimals = decimals};
    if (!row.cells) return NULL;
    for (size_t c = 0; c < r->n_cols; c++) {
        if (!(row.cells[c] = rep_strdup(cells[c]))) {
            rep_row_free(r, &row);
            return NULL;
        }
    }
    s->rows[s->n_rows] = row;
    return &s->rows[s->n_rows++];
}

aj_err aj_rep_bar_add(aj_rep_chart *c, const char *label, int64_t count, const char *note) {
    if (rep_grow((void **)&c->bars, c->n_bars, &c->cap_bars, sizeof(*c->bars)) != 0) return AJ_E_NOMEM;
    aj_rep_bar b = {rep_strdup(label), count, rep_strdup(note)};
    if (!b.label || !b.note) {
        free(b.label);
        free(b.note);
        return AJ_E_NOMEM;
    }
    c->bars[c->n_bars++] = b;
    return AJ_E_OK;
}

const char *aj_rep_exact(aj_money m, char *buf, size_t len) {
    return aj_money_format(m, 6, buf, len);
}

/* A cell as people read it: INT grouped, MONEY at decimals rounded half up, TEXT as it is. */
static const char *rep_human(const aj_rep_col *col, const char *cell, int decimals, char *buf, size_t len) {
    if (col->type == AJ_REP_TEXT || !*cell) return cell;
    long long v = strtoll(cell, NULL, 10);
    return col->type == AJ_REP_INT ? aj_render_int(v, buf, len) : aj_render_amount(v, decimals, 0, buf, len);
}

static int rep_in_table(const aj_rep_col *col) {
    return col->where == AJ_REP_ALL;
}

static aj_err rep_status(FILE *out) {
    return fflush(out) != 0 || ferror(out) ? AJ_E_IO : AJ_E_OK;
}

/* ------------------------------------------------------------------ text */

/* Display width of s: UTF-8 continuation bytes take no column. */
static int rep_width(const char *s) {
    int w = 0;
    for (; *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* s in a column of width, right-aligned or padded (not the last column: no trailing blanks). */
static void rep_text_cell(FILE *out, const char *s, int width, int right, int last) {
    int pad = width - rep_width(s);
    if (right) fprintf(out, "%*s%s", pad > 0 ? pad : 0, "", s);
    else fprintf(out, "%s%*s", s, pad > 0 && !last ? pad : 0, "");
}

/* The index of the last column of the text table. */
static size_t rep_text_last(const aj_rep *r) {
    size_t last = 0;
    for (size_t c = 0; c < r->n_cols; c++)
        if (rep_in_table(&r->cols[c])) last = c;
    return last;
}

static void rep_text_rule(FILE *out, const int *w, const aj_rep *r, char ch) {
    int total = 0, first = 1;
    for (size_t c = 0; c < r->n_cols; c++)
        if (rep_in_table(&r->cols[c])) total += w[c] + (first ? 0 : 2), first = 0;
    fputs("  ", out);
    for (int i = 0; i < total; i++) fputc(ch, out);
    fputc('\n', out);
}

aj_err aj_rep_write_text(FILE *out, const aj_rep *r) {
    char buf[AJ_RENDER_AMOUNT_LEN];
    int *w = calloc(r->n_cols ? r->n_cols : 1, sizeof(int));
    if (!w) return AJ_E_NOMEM;

    for (size_t c = 0; c < r->n_cols; c++) w[c] = rep_width(r->cols[c].title);
    for (size_t s = 0; s < r->n_sections; s++)
        for (size_t i = 0; i < r->sections[s].n_rows; i++) {
            const aj_rep_row *row = &r->sections[s].rows[i];
            for (size_t c = 0; c < r->n_cols; c++) {
                int cw = rep_width(rep_human(&r->cols[c], row->cells[c], row->decimals, buf, sizeof(buf)));
                if (cw > w[c]) w[c] = cw;
            }
        }

    const size_t last = rep_text_last(r);
    fprintf(out, "%s\n%s\n", r->title, r->subtitle ? r->subtitle : "");
    for (size_t s = 0; s < r->n_sections; s++) {
        const aj_rep_section *sec = &r->sections[s];
        int first = 1, rule_done = !sec->n_rows || sec->rows[0].total;
        fprintf(out, "\n%s\n", sec->title);
        fputs("  ", out);
        for (size_t c = 0; c < r->n_cols; c++) {
            if (!rep_in_table(&r->cols[c])) continue;
            if (!first) fputs("  ", out);
            rep_text_cell(out, r->cols[c].title, w[c], r->cols[c].type != AJ_REP_TEXT, c == last);
            first = 0;
        }
        fputc('\n', out);
        rep_text_rule(out, w, r, '-');
        for (size_t i = 0; i < sec->n_rows; i++) {
            const aj_rep_row *row = &sec->rows[i];
            if (row->total && !rule_done) rep_text_rule(out, w, r, '-'), rule_done = 1;
            fputs("  ", out);
            first = 1;
            for (size_t c = 0; c < r->n_cols; c++) {
                if (!rep_in_table(&r->cols[c])) continue;
                if (!first) fputs("  ", out);
                rep_text_cell(out, rep_human(&r->cols[c], row->cells[c], row->decimals, buf, sizeof(buf)), w[c],
                              r->cols[c].type != AJ_REP_TEXT, c == last);
                first = 0;
            }
            fputc('\n', out);
            for (size_t c = 0; c < r->n_cols; c++)
                if ((r->cols[c].where == AJ_REP_PROSE || r->cols[c].where == AJ_REP_HUMAN) && row->cells[c][0])
                    fprintf(out, "      %s\n", row->cells[c]);
        }
    }
    if (r->notes) fprintf(out, "\n%s\n", r->notes);
    free(w);
    return rep_status(out);
}

/* ------------------------------------------------------------------ CSV */

static void rep_csv_field(FILE *out, const char *s) {
    aj_render_csv_field(out, s);
}

aj_err aj_rep_write_csv(FILE *out, const aj_rep *r) {
    char buf[32];
    fputs("row_type", out);
    for (size_t c = 0; c < r->n_cols; c++)
        if (r->cols[c].where != AJ_REP_HUMAN) fprintf(out, ",%s", r->cols[c].key);
    fputs("\r\n", out);
    for (size_t s = 0; s < r->n_sections; s++)
        for (size_t i = 0; i < r->sections[s].n_rows; i++) {
            const aj_rep_row *row = &r->sections[s].rows[i];
            fputs(row->total == 2 ? "total" : row->total ? "subtotal" : "row", out);
            for (size_t c = 0; c < r->n_cols; c++) {
                if (r->cols[c].where == AJ_REP_HUMAN) continue;
                fputc(',', out);
                const char *cell = row->cells[c];
                if (r->cols[c].type == AJ_REP_MONEY && *cell) cell = aj_rep_exact(strtoll(cell, NULL, 10), buf, sizeof(buf));
                rep_csv_field(out, cell);
            }
            fputs("\r\n", out);
        }
    return rep_status(out);
}

/* ------------------------------------------------------------------ HTML */

static const char rep_css[] =
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:#eef0f3;color:#1b1f24;font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,"
    "Arial,sans-serif}\n"
    "main{max-width:1280px;margin:24px auto;background:#fff;padding:28px 36px;box-shadow:0 1px 4px rgba(0,0,0,.15)}\n"
    "h1{font-size:22px;margin:0 0 4px}\n"
    "h2{font-size:15px;margin:28px 0 6px;letter-spacing:.03em;color:#333}\n"
    ".muted{color:#5a6270}\n"
    "table{width:100%;border-collapse:collapse;margin:6px 0 0}\n"
    "th,td{padding:4px 8px;vertical-align:top;border-bottom:1px solid #dde1e6}\n"
    "thead th{text-align:left;border-bottom:2px solid #1b1f24;font-size:12px;text-transform:uppercase;"
    "letter-spacing:.04em}\n"
    ".num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\n"
    "tr.prose td{font-size:12px;color:#3a414b;padding:0 8px 6px 28px}\n"
    "tr:has(+tr.prose) td{border-bottom:0}\n"
    "tr.total td{font-weight:700;border-top:2px solid #1b1f24;background:#f5f6f8}\n"
    "figure{margin:18px 0}figcaption{font-weight:600;margin-bottom:4px}\n"
    "svg text{font:12px system-ui,Arial,sans-serif;fill:#1b1f24}\n"
    "svg rect.bar{fill:#3b6ea8}\n"
    "p.note{font-size:13px;color:#3a414b}\n"
    "@media print{body{background:#fff}main{box-shadow:none;margin:0;max-width:none;padding:0}tr{break-inside:avoid}}\n";

static void rep_html_chart(FILE *out, const aj_rep_chart *c) {
    int64_t max = 0;
    char buf[AJ_RENDER_AMOUNT_LEN];
    for (size_t i = 0; i < c->n_bars; i++)
        if (c->bars[i].count > max) max = c->bars[i].count;
    int h = (int)c->n_bars * REP_CHART_ROW_H + 8;
    fprintf(out, "<figure id=\"%s\">\n<figcaption>", c->id);
    aj_render_html_text(out, c->title);
    fprintf(out, "</figcaption>\n<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"",
            REP_CHART_W, h, REP_CHART_W, h);
    aj_render_html_text(out, c->title);
    fputs("\">\n", out);
    for (size_t i = 0; i < c->n_bars; i++) {
        const aj_rep_bar *b = &c->bars[i];
        int y = 4 + (int)i * REP_CHART_ROW_H;
        int64_t bw = max ? b->count * REP_CHART_BAR_W / max : 0;
        if (b->count > 0 && bw < 1) bw = 1;
        fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", REP_CHART_LABEL_X, y + 15);
        aj_render_html_text(out, b->label);
        fprintf(out, "</text><rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%lld\" height=\"16\"><title>",
                REP_CHART_BAR_X, y + 3, (long long)bw);
        aj_render_html_text(out, b->label);
        fprintf(out, ": %s corrections, ", aj_render_int(b->count, buf, sizeof(buf)));
        aj_render_html_text(out, b->note);
        fprintf(out, "</title></rect><text x=\"%lld\" y=\"%d\">%s &#183; ", (long long)(REP_CHART_BAR_X + bw + 6), y + 15,
                aj_render_int(b->count, buf, sizeof(buf)));
        aj_render_html_text(out, b->note);
        fputs("</text>\n", out);
    }
    if (!c->n_bars) fputs("<text x=\"8\" y=\"16\">no corrections</text>\n", out);
    fputs("</svg>\n</figure>\n", out);
}

/* The index of the column keyed key, or -1. */
static int rep_col_index(const aj_rep *r, const char *key) {
    for (size_t c = 0; c < r->n_cols; c++)
        if (strcmp(r->cols[c].key, key) == 0) return (int)c;
    return -1;
}

static void rep_html_section(FILE *out, const aj_rep *r, const aj_rep_section *sec, int cur) {
    char buf[AJ_RENDER_AMOUNT_LEN];
    fputs("<h2>", out);
    aj_render_html_text(out, sec->title);
    fputs("</h2>\n<table>\n<thead><tr>", out);
    int ncols = 0;
    for (size_t c = 0; c < r->n_cols; c++) {
        if (!rep_in_table(&r->cols[c])) continue;
        fprintf(out, "<th%s>", r->cols[c].type == AJ_REP_TEXT ? "" : " class=\"num\"");
        aj_render_html_text(out, r->cols[c].title);
        fputs("</th>", out);
        ncols++;
    }
    fputs("</tr></thead>\n<tbody>\n", out);
    for (size_t i = 0; i < sec->n_rows; i++) {
        const aj_rep_row *row = &sec->rows[i];
        int prose = 0;
        fputs(row->total ? "<tr class=\"total\">" : "<tr>", out);
        for (size_t c = 0; c < r->n_cols; c++) {
            const aj_rep_col *col = &r->cols[c];
            if (!rep_in_table(col)) {
                prose |= col->where != AJ_REP_CSV && row->cells[c][0];
                continue;
            }
            fputs("<td", out);
            if (col->type != AJ_REP_TEXT) fputs(" class=\"num\"", out);
            if (row->total == 2 && cur >= 0) {
                fputs(" id=\"total-", out);
                aj_render_html_text(out, row->cells[cur]);
                fprintf(out, "-%s\"", col->key);
            }
            if (col->type == AJ_REP_MONEY && row->cells[c][0]) {
                fputs(" data-micro=\"", out);
                aj_render_html_text(out, row->cells[c]);
                fputc('"', out);
            }
            fputc('>', out);
            aj_render_html_text(out, rep_human(col, row->cells[c], row->decimals, buf, sizeof(buf)));
            fputs("</td>", out);
        }
        fputs("</tr>\n", out);
        if (!prose) continue;
        /* The sentences of the row, under it across the table (as in the text). */
        fprintf(out, "<tr class=\"prose\"><td colspan=\"%d\">", ncols);
        for (size_t c = 0, k = 0; c < r->n_cols; c++) {
            const aj_rep_col *col = &r->cols[c];
            if (rep_in_table(col) || col->where == AJ_REP_CSV || !row->cells[c][0]) continue;
            fprintf(out, "%s<span class=\"%s\">", k++ ? "<br>" : "", col->key);
            aj_render_html_text(out, row->cells[c]);
            fputs("</span>", out);
        }
        fputs("</td></tr>\n", out);
    }
    fputs("</tbody>\n</table>\n", out);
}

aj_err aj_rep_write_html(FILE *out, const aj_rep *r) {
    int cur = rep_col_index(r, "currency");
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", out);
    aj_render_html_text(out, r->title);
    fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n<h1>", rep_css);
    aj_render_html_text(out, r->title);
    fputs("</h1>\n<p class=\"muted\">", out);
    aj_render_html_text(out, r->subtitle ? r->subtitle : "");
    fputs("</p>\n", out);
    for (size_t k = 0; k < sizeof(r->charts) / sizeof(r->charts[0]); k++)
        if (r->charts[k].id) rep_html_chart(out, &r->charts[k]);
    for (size_t s = 0; s < r->n_sections; s++) rep_html_section(out, r, &r->sections[s], cur);
    if (r->notes) {
        const char *p = r->notes;
        while (*p) {
            size_t n = strcspn(p, "\n");
            fputs("<p class=\"note\">", out);
            for (size_t i = 0; i < n; i++) {
                char one[2] = {p[i], 0};
                aj_render_html_text(out, one);
            }
            fputs("</p>\n", out);
            p += n + (p[n] == '\n');
        }
    }
    fputs("</main>\n</body>\n</html>\n", out);
    return rep_status(out);
}
