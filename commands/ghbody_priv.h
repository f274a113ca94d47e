/* ghbody_priv.h — what the issue-form builders share: sections, inline escaping, titles. */
#ifndef PB_GHBODY_PRIV_H
#define PB_GHBODY_PRIV_H

#include "pb_ghbody.h"

/* What GitHub writes for an optional field left empty. */
#define PB_GH_NO_RESPONSE "_No response_"
/* GitHub refuses issue titles longer than this many characters. */
#define PB_GH_TITLE_MAX 256

/* "### label\n\nvalue\n\n"; value is Markdown already (escaped), NULL or "" → _No response_. */
int pb_ghbody_section(pb_buf *out, const char *label, const char *value);
/* One form checkbox as GitHub renders it: "- [X] text\n" or "- [ ] text\n". */
int pb_ghbody_checkbox(pb_buf *out, bool ticked, const char *text);
/*
 * Appends `title` cleaned for an issue title (one line, no control bytes,
 * valid UTF-8) and cut to PB_GH_TITLE_MAX characters on a character
 * boundary (the cut ends in "…").
 */
int pb_ghbody_title(const char *title, pb_buf *out);
/* The hidden marker line "<!-- marker -->\n"; -EINVAL when it could end the comment early. */
int pb_ghbody_marker(pb_buf *out, const char *marker);

#endif
