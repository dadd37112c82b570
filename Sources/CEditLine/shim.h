#ifndef HMP_CEDITLINE_SHIM_H
#define HMP_CEDITLINE_SHIM_H
#include <stdio.h>
#include <histedit.h>

/* el_set and el_get are variadic, which Swift cannot call; these fix each use to one signature. */
static inline int hmp_el_set_prompt(EditLine *el, char *(*fn)(EditLine *)) { return el_set(el, EL_PROMPT, fn); }
static inline int hmp_el_set_editor(EditLine *el, const char *mode) { return el_set(el, EL_EDITOR, mode); }
static inline int hmp_el_set_hist(EditLine *el, History *h) { return el_set(el, EL_HIST, history, h); }
static inline int hmp_el_set_getcfn(EditLine *el, int (*fn)(EditLine *, wchar_t *)) { return el_set(el, EL_GETCFN, fn); }
static inline int hmp_el_set_clientdata(EditLine *el, void *data) { return el_set(el, EL_CLIENTDATA, data); }
static inline void *hmp_el_get_clientdata(EditLine *el) { void *d = NULL; el_get(el, EL_CLIENTDATA, &d); return d; }
static inline int hmp_el_addfn(EditLine *el, const char *name, const char *help, unsigned char (*fn)(EditLine *, int)) {
    return el_set(el, EL_ADDFN, name, help, fn);
}
static inline int hmp_el_bind(EditLine *el, const char *key, const char *fn) { return el_set(el, EL_BIND, key, fn, NULL); }
static inline int hmp_el_refresh(EditLine *el) { return el_set(el, EL_REFRESH); }

static inline int hmp_history_setsize(History *h, HistEvent *ev, int n) { return history(h, ev, H_SETSIZE, n); }
static inline int hmp_history_setunique(History *h, HistEvent *ev, int on) { return history(h, ev, H_SETUNIQUE, on); }
static inline int hmp_history_enter(History *h, HistEvent *ev, const char *line) { return history(h, ev, H_ENTER, line); }
#endif
