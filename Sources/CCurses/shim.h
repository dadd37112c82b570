#ifndef HMP_CCURSES_SHIM_H
#define HMP_CCURSES_SHIM_H
#include <curses.h>
#include <term.h>

/* tparm and tigetstr are variadic or macro-heavy; fixed-arity wrappers keep the Swift side simple. */
static inline char *hmp_tparm2(const char *cap, long a, long b) { return tiparm(cap, (int)a, (int)b); }
static inline char *hmp_tigetstr(const char *name) {
    char *s = tigetstr(name);
    return (s == (char *)-1) ? NULL : s;
}
#endif
